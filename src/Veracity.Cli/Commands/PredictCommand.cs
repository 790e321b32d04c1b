using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Data;
using Veracity.Inference;

namespace Veracity.Cli.Commands;

[Description("Writes a submission: img_name,y_pred (deepfake probability) for every image, in input order.")]
public sealed class PredictCommand : Command<PredictCommand.Settings>
{
    public sealed class Settings : InferenceSettings
    {
        [CommandOption("--images <DIR>")] public string Images { get; init; } = "";
        [CommandOption("--list <FILE>"), Description("Score these names (a file with an img_name column) in this order; " +
            "default: every image in the folder, sorted.")]
        public string? List { get; init; }
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "submit.csv";
        [CommandOption("--on-error <MODE>"), Description("fail (default), skip (leave the row out) or neutral (write 0.5) " +
            "for missing or undecodable images.")]
        public string OnError { get; init; } = "fail";
        [CommandOption("--details <FILE>"), Description("Also write one JSON line per image: its score and, on faces, each face's box " +
            "and probability (the submission keeps the competition's img_name,y_pred).")]
        public string? Details { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Images) ? ValidationResult.Error("--images is required")
            : OnError is not ("fail" or "skip" or "neutral") ? ValidationResult.Error("--on-error must be fail, skip or neutral")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var names = settings.List is null ? Prediction.ListImages(settings.Images) : LabelFile.ReadNames(settings.List);
        var mode = Enum.Parse<OnError>(settings.OnError, ignoreCase: true);
        var (written, failures, onFaces) = Predict(settings.Options, settings.Images, names, mode, settings.Out, settings.Details);
        string how = onFaces ? ", on faces: each picture's most suspicious face" : "";
        AnsiConsole.MarkupLineInterpolated($"Wrote {written} predictions to [bold]{Path.GetFullPath(settings.Out)}[/] (TTA {settings.Tta}{how})");
        if (failures > 0)
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]{failures} image(s) could not be read:[/] {(mode == OnError.Skip ? "left out" : "written as 0.5")}");
        Ui.ReportConvolutionFallbacks();
        return 0;
    }

    internal static (int Written, int Failures, bool OnFaces) Predict(InferenceOptions run, string images, IReadOnlyList<string> names, OnError mode,
        string outFile, string? details = null)
    {
        using var detector = Detector.Load(run.Model, run.Engine);
        var faces = detector.FaceSettingsFor(run.Faces);
        var result = Ui.Counted($"Predicting (TTA {run.Scoring.Tta}, {detector.Engine}{(faces is null ? "" : ", on faces")})", (start, step) =>
            Prediction.Run(detector, images, names, run.Scoring, mode, start, step, faces));
        if (details is not null) Prediction.WriteDetails(details, result);
        return (Prediction.WriteSubmission(outFile, result, mode), result.Failures, faces is not null);
    }
}
