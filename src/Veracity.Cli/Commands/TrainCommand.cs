using System.ComponentModel;
using System.Runtime.InteropServices;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Models;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Cli.Commands;

[Description("Fine-tunes a detector. --preset seed reproduces the reference baseline; the default preset is the team's CPU recipe. " +
    "Ctrl-C stops cleanly and --resume continues.")]
public sealed class TrainCommand : Command<TrainCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--train-labels <FILE>")] public string? TrainLabels { get; init; }
        [CommandOption("--train-images <DIR>")] public string? TrainImages { get; init; }
        [CommandOption("--val-labels <FILE>"), Description("Without it, --val-fraction of the training rows is held out (stratified).")]
        public string? ValLabels { get; init; }
        [CommandOption("--val-images <DIR>")] public string? ValImages { get; init; }
        [CommandOption("--val-fraction <F>")] public double ValFraction { get; init; } = 0.1;
        [CommandOption("--preset <NAME>"), Description("seed (the reference), default, or demo (what `veracity demo` trains).")]
        public string Preset { get; init; } = "default";
        [CommandOption("--model <NAME>"), Description("See `veracity models`.")] public string? Model { get; init; }
        [CommandOption("--no-pretrained"), Description("Start from random weights.")] public bool NoPretrained { get; init; }
        [CommandOption("--epochs <N>")] public int? Epochs { get; init; }
        [CommandOption("--batch-size <N>")] public int? BatchSize { get; init; }
        [CommandOption("--lr <RATE>")] public double? Lr { get; init; }
        [CommandOption("--optimizer <NAME>"), Description("adam, adamw or sgd.")] public OptimizerKind? Optimizer { get; init; }
        [CommandOption("--weight-decay <W>")] public double? WeightDecay { get; init; }
        [CommandOption("--scheduler <NAME>"), Description("step or cosine.")] public Schedule? Scheduler { get; init; }
        [CommandOption("--step-size <EPOCHS>")] public int? StepSize { get; init; }
        [CommandOption("--gamma <G>")] public double? Gamma { get; init; }
        [CommandOption("--warmup <EPOCHS>"), Description("Linear learning-rate warm-up, in epochs (fractions allowed).")]
        public double? Warmup { get; init; }
        [CommandOption("--image-size <PIXELS>")] public int? ImageSize { get; init; }
        [CommandOption("--limit <N>"), Description("Only the first N rows of each label file (the reference's head(N)).")]
        public int? Limit { get; init; }
        [CommandOption("--seed <K>")] public int? Seed { get; init; }
        [CommandOption("--workers <N>")] public int? Workers { get; init; }
        [CommandOption("--log-every <N>"), Description("Print the reference's progress line every N batches.")]
        public int? LogEvery { get; init; }
        [CommandOption("--precision <TYPE>"), Description("auto (default: bfloat16 for backbones that support it on CPUs with AVX512-BF16 " +
            "or AMX, else float32), float32 or bfloat16.")]
        public Precision? Precision { get; init; }
        [CommandOption("--select-by <METRIC>"), Description("auc or accuracy: which validation figure picks best.ckpt.")]
        public SelectBy? SelectBy { get; init; }
        [CommandOption("--rotation <DEGREES>")] public double? Rotation { get; init; }
        [CommandOption("--color-jitter <STRENGTH>")] public double? ColorJitter { get; init; }
        [CommandOption("--random-resized-crop <MIN_SCALE>")] public double? RandomResizedCrop { get; init; }
        [CommandOption("--blur <P>")] public double? Blur { get; init; }
        [CommandOption("--jpeg <P>")] public double? Jpeg { get; init; }
        [CommandOption("--mixup <ALPHA>")] public double? Mixup { get; init; }
        [CommandOption("--cutmix <ALPHA>")] public double? Cutmix { get; init; }
        [CommandOption("--out <RUNDIR>"), Description("Run folder (default runs/<time>).")] public string? Out { get; init; }
        [CommandOption("--resume <RUNDIR>"), Description("Continue a stopped run from its last checkpoint.")] public string? Resume { get; init; }

        public TrainConfig Config()
        {
            var c = TrainConfig.FromPreset(Preset);
            return c with
            {
                Model = Model ?? c.Model, Pretrained = !NoPretrained, Epochs = Epochs ?? c.Epochs, BatchSize = BatchSize ?? c.BatchSize,
                LearningRate = Lr ?? c.LearningRate, Optimizer = Optimizer ?? c.Optimizer, WeightDecay = WeightDecay ?? c.WeightDecay,
                Scheduler = Scheduler ?? c.Scheduler, StepSize = StepSize ?? c.StepSize, Gamma = Gamma ?? c.Gamma,
                WarmupEpochs = Warmup ?? c.WarmupEpochs, ImageSize = ImageSize ?? c.ImageSize, Limit = Limit ?? c.Limit, Seed = Seed ?? c.Seed,
                Workers = Workers ?? c.Workers, LogEvery = LogEvery ?? c.LogEvery, Precision = Precision ?? c.Precision,
                SelectBy = SelectBy ?? c.SelectBy, RotationDegrees = Rotation ?? c.RotationDegrees, ColorJitter = ColorJitter ?? c.ColorJitter,
                RandomResizedCropMinScale = RandomResizedCrop ?? c.RandomResizedCropMinScale, BlurProbability = Blur ?? c.BlurProbability,
                JpegProbability = Jpeg ?? c.JpegProbability, MixupAlpha = Mixup ?? c.MixupAlpha, CutmixAlpha = Cutmix ?? c.CutmixAlpha,
            };
        }

        /// <summary>The flag a <see cref="TrainConfig"/> setting comes from, for messages.</summary>
        internal static string Flag(string setting) => setting switch
        {
            nameof(TrainConfig.LearningRate) => "--lr",
            nameof(TrainConfig.WarmupEpochs) => "--warmup",
            nameof(TrainConfig.RandomResizedCropMinScale) => "--random-resized-crop",
            _ => "--" + string.Concat(setting.Select((c, i) =>
                char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString())),
        };

        /// <summary>Flags that would change the recipe: --resume continues with the recorded one, so it refuses them.</summary>
        bool ChangesRecipe =>
            new object?[] { TrainLabels, TrainImages, ValLabels, ValImages, Model, Epochs, BatchSize, Lr, Optimizer, WeightDecay, Scheduler, StepSize,
                Gamma, Warmup, ImageSize, Limit, Seed, Workers, LogEvery, Precision, SelectBy, Rotation, ColorJitter, RandomResizedCrop, Blur, Jpeg,
                Mixup, Cutmix, Out }.Any(v => v is not null) || NoPretrained || Preset != TrainConfig.DefaultPreset.Preset;

        public override ValidationResult Validate() =>
            Resume is null && (TrainLabels is null || TrainImages is null)
                ? ValidationResult.Error("--train-labels and --train-images are required (or --resume RUNDIR)")
                : Resume is not null && ChangesRecipe
                    ? ValidationResult.Error("--resume continues a run with the data and settings it recorded; give it alone")
                    : (ValLabels is null) != (ValImages is null)
                        ? ValidationResult.Error("--val-labels and --val-images go together")
                        : ValFraction is <= 0 or >= 1
                            ? ValidationResult.Error("--val-fraction must be between 0 and 1")
                            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var result = Run(settings, cancellation);
        Summarise(result);
        return result.Outcome == TrainOutcome.Finished ? 0 : 130;
    }

    /// <summary>Trains with progress bars; SIGINT/SIGTERM ask the trainer to stop after the current batch.</summary>
    internal static TrainResult Run(Settings settings, CancellationToken cancellation, TrainConfig? config = null)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            stop.Cancel();
        });
        try
        {
            TrainResult result = null!;
            Ui.Progress().Start(progress =>
            {
                var observer = new TrainingProgress(progress);
                result = settings.Resume is { } runDir
                    ? Trainer.Resume(runDir, observer, stop.Token)
                    : Trainer.Train(config ?? settings.Config(),
                        new TrainData(settings.TrainLabels!, settings.TrainImages!, settings.ValLabels, settings.ValImages, settings.ValFraction),
                        settings.Out ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss")), observer, stop.Token);
            });
            return result;
        }
        catch (InvalidSettingException e)
        {
            throw new VeracityException($"{Settings.Flag(e.Setting)} {e.Problem}", e);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    internal static void Summarise(TrainResult result)
    {
        var table = new Table().AddColumns("epoch", "train loss", "train acc", "val acc", "val AUC", "val EER", "img/s");
        foreach (var e in result.Epochs)
            table.AddRow(e.Epoch.ToString(), e.TrainLoss.ToString("F4"), (e.TrainAccuracy * 100).ToString("F1") + "%",
                (e.ValAccuracy * 100).ToString("F1") + "%", e.ValAuc?.ToString("F4") ?? "n/a", e.ValEer?.ToString("F4") ?? "n/a",
                e.ImagesPerSecond.ToString("F1"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"Run folder: [bold]{Path.GetFullPath(result.RunDir)}[/] (best: {Trainer.BestFile}, last: {Trainer.LastFile})");
        if (result.Outcome == TrainOutcome.Interrupted)
            AnsiConsole.MarkupLineInterpolated($"[yellow]Stopped early.[/] Continue with: veracity train --resume {result.RunDir}");
    }
}
