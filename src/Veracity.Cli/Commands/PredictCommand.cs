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

        protected override bool AveragesModels => true;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var names = settings.List is null ? Prediction.ListImages(settings.Images) : LabelFile.ReadNames(settings.List);
        var mode = Enum.Parse<OnError>(settings.OnError, ignoreCase: true);
        var (written, failures, onFaces, views) = Predict(settings.Options, settings.Images, names, mode, settings.Out, settings.Details);
        string how = (onFaces ? ", on faces: each picture's most suspicious face" : "")
                     + (settings.Models.Length > 1 ? $"; the mean of {settings.Models.Length} models" : "");
        string tta = string.Join(", ", views.Distinct());
        AnsiConsole.MarkupLineInterpolated($"Wrote {written} predictions to [bold]{Path.GetFullPath(settings.Out)}[/] (TTA {tta}{how})");
        if (failures > 0)
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]{failures} image(s) could not be read:[/] {(mode == OnError.Skip ? "left out" : "written as 0.5")}");
        Ui.ReportConvolutionFallbacks();
        return 0;
    }

    internal static (int Written, int Failures, bool OnFaces, IReadOnlyList<int> Views) Predict(InferenceOptions run, string images,
        IReadOnlyList<string> names, OnError mode, string outFile, string? details = null)
    {
        var (result, onFaces) = Score(run, images, names, mode);
        if (details is not null) Prediction.WriteDetails(details, result);
        return (Prediction.WriteSubmission(outFile, result, mode), result.Failures, onFaces, result.Views);
    }

    /// <summary>The images' scores: one model's, or the mean of several models' (each run in turn, with its own faces and engine).</summary>
    internal static (PredictionResult Result, bool OnFaces) Score(InferenceOptions run, string images, IReadOnlyList<string> names, OnError mode)
    {
        var byModel = new List<PredictionResult>();
        bool onFaces = false;
        foreach (var (model, k) in run.Models.Select((model, k) => (model, k)))
        {
            using var detector = Detector.Load(model, run.Engine, windows: run.Scoring.Window > 0);
            var faces = detector.FaceSettingsFor(run.Faces);
            onFaces |= faces is not null;
            string which = run.Models.Count > 1 ? $"model {k + 1}/{run.Models.Count}, " : "";
            string window = run.Scoring.Window > 0 ? $", {run.Scoring.Window}-px windows" : "";
            string how = $"{which}TTA {detector.Views(run.Scoring.Tta)}{window}, {detector.Engine}{(faces is null ? "" : ", on faces")}";
            byModel.Add(Ui.Counted($"Predicting ({how})",
                (start, step) => Prediction.Run(detector, images, names, run.Scoring, mode, start, step, faces)));
        }
        return (Prediction.Mean(byModel), onFaces);
    }
}
