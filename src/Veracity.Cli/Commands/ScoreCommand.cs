using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Data;
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
        using var detector = Detector.Load(settings.Model, settings.Engine);
        double threshold = detector.Info.Threshold;
        var table = new Table().AddColumns("image", "deepfake probability", $"verdict (threshold {threshold:F3})");
        int unreadable = 0;
        // Images may sit in different folders: score each against its own folder.
        foreach (string path in settings.Images)
        {
            var result = Prediction.Run(detector, Path.GetDirectoryName(Path.GetFullPath(path))!, [Path.GetFileName(path)],
                new ScoringOptions(settings.Tta, BatchSize: 1, Workers: 1), OnError.Skip);
            var scored = result.Images[0];
            if (scored.Score is double score)
                table.AddRow(Markup.Escape(path), score.ToString("F4"), score >= threshold ? "[red]deepfake[/]" : "[green]real[/]");
            else
            {
                unreadable++;
                table.AddRow(Markup.Escape(path), "-", Markup.Escape($"cannot read: {scored.Problem}"));
            }
        }
        AnsiConsole.Write(table);
        Ui.ReportConvolutionFallbacks();
        AnsiConsole.MarkupLineInterpolated($"Threshold {threshold:F4} is the validation equal-error-rate threshold stored in {settings.Model}.");
        return unreadable > 0 ? 1 : 0;
    }
}
