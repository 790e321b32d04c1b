using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Inference;

namespace Veracity.Cli.Commands;

[Description("Scores single images for a person: deepfake probability and a verdict at the checkpoint's threshold.")]
public sealed class ScoreCommand : Command<ScoreCommand.Settings>
{
    public sealed class Settings : InferenceSettings
    {
        [CommandArgument(0, "<IMAGE>"), Description("One or more image files.")]
        public string[] Images { get; init; } = [];
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var detector = Detector.Load(settings.Model, settings.Engine, windows: settings.Window > 0);
        var faces = detector.FaceSettingsFor(settings.Options.Faces);
        double threshold = detector.Info.Threshold;
        var table = new Table().AddColumns("image", faces is null ? "" : "face (x, y, w, h px; confidence)", "deepfake probability",
            $"verdict (threshold {threshold:F3})");
        int unreadable = 0;
        string Verdict(double score) => score >= threshold ? "[red]deepfake[/]" : "[green]real[/]";
        // One face detector for every file; images may sit in different folders, so each is read by its own path, and
        // a batch of them at a time keeps memory bounded however many are given.
        using var preparer = new PicturePreparer(detector, faces);
        var results = settings.Images.Chunk(settings.BatchSize)
            .SelectMany(paths => preparer.Score(paths.Select(path => preparer.Prepare(path, path)).ToList(), settings.Options.Scoring));
        foreach (var (path, scored) in settings.Images.Zip(results))
        {
            if (scored.Score is not double score)
            {
                unreadable++;
                table.AddRow(Markup.Escape(path), "", "-", Markup.Escape($"cannot score: {scored.Problem}"));
                continue;
            }
            string image = Markup.Escape(path);
            if (faces is not null)
            {
                string found = scored.Faces is { Count: > 0 } list ? $"{list.Count} face(s)" : "no usable face: whole picture";
                if (scored.SmallFaces > 0) found += $", {scored.SmallFaces} too small (< {faces.MinSize} px)";
                table.AddRow(image, Markup.Escape(found), $"[bold]{score:F4}[/]", Verdict(score) + " (most suspicious face)");
                foreach (var face in scored.Faces ?? [])
                    table.AddRow("", $"{face.X:F0}, {face.Y:F0}, {face.Width:F0}, {face.Height:F0}; {face.Confidence:F2}",
                        face.FakeProbability.ToString("F4"),
                        Verdict(face.FakeProbability));
            }
            else table.AddRow(image, "", score.ToString("F4"), Verdict(score));
        }
        AnsiConsole.Write(table);
        Ui.ReportConvolutionFallbacks();
        AnsiConsole.MarkupLineInterpolated($"Threshold {threshold:F4} is the validation equal-error-rate threshold stored in {settings.Model}.");
        if (settings.UsesBuiltIn)
            AnsiConsole.MarkupLineInterpolated($"[yellow]The built-in detector was {BuiltInModel.Read().Caveat}[/] (veracity models --card).");
        return unreadable > 0 ? 1 : 0;
    }
}
