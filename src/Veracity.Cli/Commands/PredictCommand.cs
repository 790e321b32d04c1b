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
        [CommandOption("--shard <I/N>"), Description("Score only the pictures whose name hashes to shard I of N (I counts from 0: " +
            "0/4 to 3/4), and write a manifest beside --out; veracity merge makes the parts one submission.")]
        public string? Shard { get; init; }

        /// <summary>The shard asked for, or null for every picture.</summary>
        public Inference.Shard? ShardToScore => Shard is null ? null : Inference.Shard.Parse(Shard);

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Images) ? ValidationResult.Error("--images is required")
            : OnError is not ("fail" or "skip" or "neutral") ? ValidationResult.Error("--on-error must be fail, skip or neutral")
            : Shard is not null && ShardToScore is null
                ? ValidationResult.Error($"--shard must be I/N, shard I of N counted from 0 (0/4 to 3/4), not '{Shard}'")
            : base.Validate();

        protected override bool AveragesModels => true;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var input = settings.List is null ? Prediction.ListImages(settings.Images) : LabelFile.ReadNames(settings.List);
        var shard = settings.ShardToScore;
        var positions = shard is null ? null : ShardedPrediction.Select(input, shard);
        var names = positions?.Select(k => input[k]).ToList() ?? input;
        var mode = Enum.Parse<OnError>(settings.OnError, ignoreCase: true);
        var (written, result, models) = Predict(settings.Options, settings.Images, names, mode, settings.Out, settings.Details);
        string how = (models.Any(m => m.OnFaces) ? ", on faces: each picture's most suspicious face" : "")
                     + (settings.Models.Length > 1 ? $"; the mean of {settings.Models.Length} models" : "");
        string tta = string.Join(", ", models.Select(m => m.Views).Distinct());
        AnsiConsole.MarkupLineInterpolated($"Wrote {written} predictions to [bold]{Path.GetFullPath(settings.Out)}[/] (TTA {tta}{how})");
        if (result.Failures > 0)
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]{result.Failures} image(s) could not be read:[/] {(mode == OnError.Skip ? "left out" : "written as 0.5")}");
        if (shard is not null)
        {
            ShardedPrediction.Manifest(shard, models, settings.Window, mode, input, positions!, result).WriteBeside(settings.Out);
            AnsiConsole.MarkupLineInterpolated(
                $"Shard {shard}: {names.Count} of {input.Count} pictures; manifest [bold]{ShardManifest.PathFor(Path.GetFullPath(settings.Out))}[/]");
        }
        Ui.ReportConvolutionFallbacks();
        return 0;
    }

    internal static (int Written, PredictionResult Result, IReadOnlyList<ModelRun> Models) Predict(InferenceOptions run, string images,
        IReadOnlyList<string> names, OnError mode, string outFile, string? details = null)
    {
        var (result, models) = Score(run, images, names, mode);
        if (details is not null) Prediction.WriteDetails(details, result);
        return (Prediction.WriteSubmission(outFile, result, mode), result, models);
    }

    /// <summary>
    /// The images' scores: one model's, or the mean of several models' (each run in turn, with its own faces and engine),
    /// and how each model ran. No names (a shard that holds none) is no scores.
    /// </summary>
    internal static (PredictionResult Result, IReadOnlyList<ModelRun> Models) Score(InferenceOptions run, string images,
        IReadOnlyList<string> names, OnError mode)
    {
        var byModel = new List<PredictionResult>();
        var models = new List<ModelRun>();
        foreach (var (model, k) in run.Models.Select((model, k) => (model, k)))
        {
            using var detector = Detector.Load(model, run.Engine, windows: run.Scoring.Window > 0);
            var faces = detector.FaceSettingsFor(run.Faces);
            int views = detector.Views(run.Scoring.Tta);
            models.Add(new ModelRun(model, detector.Engine, views, faces is not null));
            string which = run.Models.Count > 1 ? $"model {k + 1}/{run.Models.Count}, " : "";
            string window = run.Scoring.Window > 0 ? $", {run.Scoring.Window}-px windows" : "";
            string how = $"{which}TTA {views}{window}, {detector.Engine}{(faces is null ? "" : ", on faces")}";
            byModel.Add(names.Count == 0
                ? new PredictionResult([], [views])
                : Ui.Counted($"Predicting ({how})",
                    (start, step) => Prediction.Run(detector, images, names, run.Scoring, mode, start, step, faces)));
        }
        return (Prediction.Mean(byModel), models);
    }
}
