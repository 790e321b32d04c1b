using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Checkpoints;
using Veracity.Experiments;
using Veracity.Inference;
using Veracity.Training;

namespace Veracity.Cli.Commands;

[Description("Teaches a trained detector (the built-in one by default) a new kind of forgery from a few labelled examples, " +
    "rehearsing on what it was trained on, and prints the new kind's and the old kinds' AUC before and after.")]
public sealed class AdaptCommand : Command<AdaptCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <CKPT>"), Description("The detector to adapt (a checkpoint); default: the built-in one.")]
        public string? Model { get; init; }
        [CommandOption("--labels <FILE>"), Description("img_name,target[[,source]] of the new examples (deepfakes of the new kind, reals too if you have them).")]
        public string Labels { get; init; } = "";
        [CommandOption("--images <DIR>")] public string Images { get; init; } = "";
        [CommandOption("--out <RUNDIR>"), Description("Where the adapted checkpoint (run/best.ckpt) and adapt.json go.")]
        public string Out { get; init; } = "";
        [CommandOption("--rehearse <LABELS>"), Description("What the detector was trained on, to rehearse (default: where its checkpoint says).")]
        public string? Rehearse { get; init; }
        [CommandOption("--rehearse-images <DIR>")] public string? RehearseImages { get; init; }
        [CommandOption("--validation-share <F>"), Description("Of the new examples, kept to validate on (default 0.3).")]
        public double? ValidationShare { get; init; }
        [CommandOption("--epochs <N>"), Description("Default 6.")] public int? Epochs { get; init; }
        [CommandOption("--lr <LR>"), Description("Default 2e-4.")] public double? Lr { get; init; }
        [CommandOption("--rehearse-ratio <R>"), Description("Rehearsed pictures per new training example (default 2).")]
        public double? RehearseRatio { get; init; }
        [CommandOption("--seed <N>")] public int? Seed { get; init; }
        [CommandOption("--resume <OUT>"), Description("Continue a stopped adaptation from its folder, as it was asked.")]
        public string? Resume { get; init; }

        public override ValidationResult Validate() =>
            Resume is not null && (new object?[] { Model, Rehearse, RehearseImages, ValidationShare, Epochs, Lr, RehearseRatio, Seed }.Any(v => v is not null)
                                   || new[] { Labels, Images, Out }.Any(v => v.Length > 0))
                ? ValidationResult.Error("--resume continues an adaptation with the examples and settings it recorded; give it alone")
            : Resume is null && (string.IsNullOrEmpty(Labels) || string.IsNullOrEmpty(Images) || string.IsNullOrEmpty(Out))
                ? ValidationResult.Error("--labels, --images and --out are required (or --resume OUT)")
            : ValidationShare is <= 0 or >= 1 ? ValidationResult.Error("--validation-share must be between 0 and 1")
            : Epochs < 1 ? ValidationResult.Error("--epochs must be at least 1")
            : Lr <= 0 ? ValidationResult.Error("--lr must be positive")
            : RehearseRatio < 0 ? ValidationResult.Error("--rehearse-ratio cannot be negative")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = settings.Resume is { } stopped ? Adaptation.Recorded(stopped) : Adaptation.Record(Requested(settings));
        string baseModel = options.BaseModel;
        var config = Adaptation.ConfigFor(Checkpoint.ReadInfo(baseModel), options);
        if (config.Faces is { } faces) options = OnFaces(options, faces, config.ImageSize, config.Reencode);
        var plan = Adaptation.Plan(options);
        string runDir = Path.Combine(options.OutDir, "run");
        var data = plan.Training;
        AnsiConsole.MarkupLineInterpolated(
            $"New examples: {plan.NewTrain} to train on, {plan.NewVal} to validate on; rehearsal: {plan.RehearseTrain} and {plan.RehearseVal}");

        var scoring = new ScoringOptions();
        var before = Ui.Counted("Scoring before", (start, done) =>
            Adaptation.Measure(baseModel, data.ValLabels!, data.ValImages!, plan.NewSources, scoring, start, done));
        var clock = Stopwatch.StartNew();
        TrainResult result = null!;
        // A stop before training saved anything (while faces were cut or the base scored) starts training afresh.
        bool resuming = File.Exists(Path.Combine(runDir, Trainer.LastFile));
        using (var stop = new StopSignals(cancellation))
            Ui.Progress().Start(progress => result = resuming
                ? Trainer.Resume(runDir, new TrainingProgress(progress), stop.Token)
                : Trainer.Train(config, data, runDir, new TrainingProgress(progress), stop.Token));
        if (result.Outcome != TrainOutcome.Finished)
        {
            AnsiConsole.MarkupLineInterpolated($"Stopped; continue with: veracity adapt --resume {options.OutDir}");
            return 130;
        }
        double minutes = clock.Elapsed.TotalMinutes;
        string adapted = Path.Combine(runDir, Trainer.BestFile);
        var after = Ui.Counted("Scoring after", (start, done) =>
            Adaptation.Measure(adapted, data.ValLabels!, data.ValImages!, plan.NewSources, scoring, start, done));

        var table = new Table().AddColumns("kind", "AUC before", "AUC after");
        table.AddRow($"new ({string.Join(", ", plan.NewSources)})", before.NewKindAuc.ToString("F4"), after.NewKindAuc.ToString("F4"));
        foreach (var old in before.OldKinds)
            table.AddRow(Markup.Escape(old.Source), old.VsAllReals.Auc?.ToString("F4") ?? "n/a",
                after.OldKinds.FirstOrDefault(a => a.Source == old.Source)?.VsAllReals.Auc?.ToString("F4") ?? "n/a");
        AnsiConsole.Write(table);
        bool keptBase = Checkpoint.ReadInfo(adapted).Metrics?.Epoch < 0;
        if (keptBase)
            AnsiConsole.MarkupLine("[yellow]No epoch did better on the validation part than the detector it started from: " +
                                   "best.ckpt holds its weights unchanged (more examples, or --lr lower, may help).[/]");
        AnsiConsole.MarkupLineInterpolated($"Adapted in {minutes:F1} min: [bold]{Path.GetFullPath(adapted)}[/]");
        Adaptation.Report(options.OutDir, new { baseModel, plan, before, after, keptBase, minutes });
        return 0;
    }

    /// <summary>What the flags ask: the built-in detector unless --model names a checkpoint.</summary>
    static AdaptOptions Requested(Settings settings)
    {
        string baseModel = settings.Model ?? BuiltInModel.Read().Verified();
        if (Path.GetExtension(baseModel).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new VeracityException($"{baseModel} is an ONNX model: adapt fine-tunes a checkpoint (.ckpt)");
        var options = new AdaptOptions(baseModel, settings.Labels, settings.Images, settings.Out, settings.Rehearse, settings.RehearseImages);
        return options with
        {
            ValidationShare = settings.ValidationShare ?? options.ValidationShare, Epochs = settings.Epochs ?? options.Epochs,
            LearningRate = settings.Lr ?? options.LearningRate, RehearseRatio = settings.RehearseRatio ?? options.RehearseRatio,
            Seed = settings.Seed ?? options.Seed,
        };
    }

    /// <summary>
    /// For a detector trained on faces: cuts the faces of the new examples, and of a rehearsal the user names, once. The
    /// rehearsal a checkpoint records is left as it is: <c>train --faces</c> and <c>crossval --faces</c> hand the trainer
    /// the crops they cut, so that is what the record points at, and cutting a face out of a face crop frames it anew.
    /// </summary>
    static AdaptOptions OnFaces(AdaptOptions options, Faces.FaceSettings faces, int size, Imaging.Reencoding? reencode)
    {
        (string Labels, string Images) Cut(string labels, string images, string part) =>
            FacesCommand.CutForTraining(labels, images, Path.Combine(options.OutDir, "faces", part), faces, size, reencode);
        var fresh = Cut(options.NewLabels, options.NewImages, "new");
        options = options with { NewLabels = fresh.Labels, NewImages = fresh.Images };
        if (options is not { RehearseLabels: { } labels, RehearseImages: { } images }) return options;
        var rehearsal = Cut(labels, images, "rehearse");
        return options with { RehearseLabels = rehearsal.Labels, RehearseImages = rehearsal.Images };
    }
}
