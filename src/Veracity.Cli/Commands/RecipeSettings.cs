using System.ComponentModel;
using Spectre.Console.Cli;
using Veracity.Checkpoints;
using Veracity.Models;

namespace Veracity.Cli.Commands;

/// <summary>The training recipe's options (a preset and what overrides it): what train and crossval share.</summary>
public class RecipeSettings : FaceOptionSettings
{
    [CommandOption("--faces"), Description("Train on the faces: each picture's largest face is found, aligned and cut first " +
        "(once, into the run folder), and the checkpoint records how, so prediction does the same.")]
    public bool Faces { get; init; }

    [CommandOption("--preset <NAME>"), Description("seed (the reference), default, generalise (faces at 192 px, trained on random " +
        "128-px windows with CutMix, fake sources drawn as the square root of their size, 8 epochs, scored over 4 flips: for " +
        "faces and unseen forgery sources), or demo (what `veracity demo` trains).")]
    public string Preset { get; init; } = "default";
    [CommandOption("--model <NAME>"), Description("See `veracity models`.")] public string? Model { get; init; }
    [CommandOption("--no-pretrained"), Description("Start from random weights.")] public bool NoPretrained { get; init; }
    [CommandOption("--epochs <N>")] public int? Epochs { get; init; }
    [CommandOption("--epoch-size <N>"), Description("Images per epoch, drawn in turn from shuffled passes over the training set, " +
        "so training time does not grow with the data (default: an epoch is one pass).")]
    public int? EpochSize { get; init; }
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
    [CommandOption("--crop <PIXELS>"), Description("Train on random windows of this size cut from the image-size picture (not " +
        "resized); validation and prediction see the whole picture.")]
    public int? Crop { get; init; }
    [CommandOption("--layer-decay <D>"), Description("Learning rate by depth: layer4 at lr × D, layer3 at lr × D², … the stem " +
        "at lr × D⁵; the classifier at lr (1: one rate).")]
    public double? LayerDecay { get; init; }
    [CommandOption("--limit <N>"), Description("Only the first N rows of each label file (the reference's head(N)).")]
    public int? Limit { get; init; }
    [CommandOption("--seed <K>")] public int? Seed { get; init; }
    [CommandOption("--workers <N>")] public int? Workers { get; init; }
    [CommandOption("--log-every <N>"), Description("Print the reference's progress line every N batches.")]
    public int? LogEvery { get; init; }
    [CommandOption("--precision <TYPE>"), Description("auto (default: bfloat16 for backbones that support it on CPUs with AVX512-BF16 " +
        "or AMX, else float32), float32 or bfloat16.")]
    public Precision? Precision { get; init; }
    [CommandOption("--select-by <METRIC>"), Description("auc, accuracy, logloss (the lowest wins), sourceauc (the lowest of each " +
        "fake source's AUC against all validation reals) or sourcelogloss (the mean of each source's log-loss, the lowest " +
        "wins): which validation figure picks best.ckpt.")]
    public SelectBy? SelectBy { get; init; }
    [CommandOption("--rotation <DEGREES>")] public double? Rotation { get; init; }
    [CommandOption("--color-jitter <STRENGTH>")] public double? ColorJitter { get; init; }
    [CommandOption("--random-resized-crop <MIN_SCALE>")] public double? RandomResizedCrop { get; init; }
    [CommandOption("--blur <P>")] public double? Blur { get; init; }
    [CommandOption("--jpeg <P>")] public double? Jpeg { get; init; }
    [CommandOption("--down-up <P>"), Description("Probability of scaling down to 40-90% and back, with random filters.")]
    public double? DownUp { get; init; }
    [CommandOption("--noise <P>"), Description("Probability of Gaussian noise (sigma 1-8 grey levels).")] public double? Noise { get; init; }
    [CommandOption("--erasing <P>"), Description("Probability of filling a random rectangle with random pixels.")]
    public double? Erasing { get; init; }
    [CommandOption("--input <KIND>"), Description("rgb; npr: the network sees neighbouring-pixel residuals x - up(down(x)); srm: three " +
        "fixed high-pass residuals (spatial rich model); dct: the log-magnitude DCT of each channel's 8x8 blocks; " +
        "rgbsrm: rgb and srm side by side (two first convolutions, summed).")]
    public ModelInput? Input { get; init; }
    [CommandOption("--freeze <STAGE>"), Description("Freeze the trunk up to and including: none, stem, layer1, layer2, layer3 or layer4 " +
        "(the whole trunk: a linear probe).")]
    public FrozenStages? Freeze { get; init; }
    [CommandOption("--ema <DECAY>"), Description("Validate, keep and score an exponential moving average of the weights (e.g. 0.999).")]
    public double? Ema { get; init; }
    [CommandOption("--average-epochs <K>"), Description("Validate, keep and score the mean of the weights at the end of each of the " +
        "last K epochs (checkpoint averaging).")]
    public int? AverageEpochs { get; init; }
    [CommandOption("--mixup <ALPHA>"), Description("Blend each batch with a shuffled copy of itself, labels too, by a weight drawn " +
        "from Beta(ALPHA, ALPHA) (0: off).")]
    public double? Mixup { get; init; }
    [CommandOption("--cutmix <ALPHA>"), Description("Paste a box from a shuffled copy of each batch into it, the labels weighted by " +
        "area, the box's share drawn from Beta(ALPHA, ALPHA) (0: off; with --mixup, each batch does one of the two).")]
    public double? Cutmix { get; init; }
    // Nullable, so "not given" keeps the preset's choice and "--balance-fake-sources false" can turn a preset's off.
    [CommandOption("--balance-sources"), Description("Each epoch draws every source of a class equally often (false: turn a " +
        "preset's off).")]
    public bool? BalanceSources { get; init; }
    [CommandOption("--balance-fake-sources"), Description("Each epoch draws every fake source equally often, the reals as they come " +
        "(false: turn a preset's off).")]
    public bool? BalanceFakeSources { get; init; }
    [CommandOption("--source-power <P>"), Description("With a balancing option, each source's share of its class's draws goes as " +
        "its size to this power (0, the default: equal shares; 0.5: the square root).")]
    public double? SourcePower { get; init; }
    [CommandOption("--sources <FILE>"), Description("img_name,source for label files without a source column.")]
    public string? SourcesFile { get; init; }
    [CommandOption("--reencode <QUALITY[,SIDE]>"), Description("Put every picture through one pipeline before anything else, in " +
        "training and (recorded in the checkpoint) at scoring: longer side down to SIDE px (default 250, never enlarged), then JPEG " +
        "at QUALITY, so that neither class can be told by its format, size or compression (stats shows whether they can).")]
    public string? Reencode { get; init; }

    /// <summary>--reencode as given (null when not), or an error naming the option.</summary>
    Imaging.Reencoding? Reencoding => Reencode?.Split(',', StringSplitOptions.TrimEntries) switch
    {
        null => null,
        [var q] when int.TryParse(q, out int quality) => new Imaging.Reencoding(quality),
        [var q, var side] when int.TryParse(q, out int quality) && int.TryParse(side, out int longSide) => new Imaging.Reencoding(quality, longSide),
        _ => throw new InvalidSettingException(nameof(TrainConfig.Reencode), $"takes QUALITY or QUALITY,SIDE (for example 90 or 90,250), not '{Reencode}'"),
    };

    public TrainConfig Config()
    {
        var c = TrainConfig.FromPreset(Preset);
        if (SetsFaces && !Faces && c.Faces is null)
            throw new InvalidSettingException(nameof(TrainConfig.Faces),
                $"is needed for face options (the {Preset} preset trains on whole pictures)");
        bool balanceSources = BalanceSources ?? c.BalanceSources, balanceFakeSources = BalanceFakeSources ?? c.BalanceFakeSources;
        return c with
        {
            Model = Model ?? c.Model, Pretrained = !NoPretrained, Epochs = Epochs ?? c.Epochs, EpochSize = EpochSize ?? c.EpochSize,
            BatchSize = BatchSize ?? c.BatchSize,
            LearningRate = Lr ?? c.LearningRate, Optimizer = Optimizer ?? c.Optimizer, WeightDecay = WeightDecay ?? c.WeightDecay,
            Scheduler = Scheduler ?? c.Scheduler, StepSize = StepSize ?? c.StepSize, Gamma = Gamma ?? c.Gamma,
            WarmupEpochs = Warmup ?? c.WarmupEpochs, ImageSize = ImageSize ?? c.ImageSize, Limit = Limit ?? c.Limit, Seed = Seed ?? c.Seed,
            Workers = Workers ?? c.Workers, LogEvery = LogEvery ?? c.LogEvery, Precision = Precision ?? c.Precision,
            SelectBy = SelectBy ?? c.SelectBy, RotationDegrees = Rotation ?? c.RotationDegrees, ColorJitter = ColorJitter ?? c.ColorJitter,
            RandomResizedCropMinScale = RandomResizedCrop ?? c.RandomResizedCropMinScale, BlurProbability = Blur ?? c.BlurProbability,
            JpegProbability = Jpeg ?? c.JpegProbability, DownUpProbability = DownUp ?? c.DownUpProbability,
            NoiseProbability = Noise ?? c.NoiseProbability, ErasingProbability = Erasing ?? c.ErasingProbability,
            Input = Input ?? c.Input, Freeze = Freeze ?? c.Freeze, EmaDecay = Ema ?? c.EmaDecay, Crop = Crop ?? c.Crop,
            AverageEpochs = AverageEpochs ?? c.AverageEpochs,
            LayerDecay = LayerDecay ?? c.LayerDecay,
            MixupAlpha = Mixup ?? c.MixupAlpha, CutmixAlpha = Cutmix ?? c.CutmixAlpha,
            BalanceSources = balanceSources, BalanceFakeSources = balanceFakeSources,
            // A preset's source power weighs its balancing: with the balancing turned off, it goes too (one given is kept,
            // and refused by Validate, since it has nothing to weigh).
            SourcePower = SourcePower ?? (balanceSources || balanceFakeSources ? c.SourcePower : 0), Reencode = Reencoding ?? c.Reencode,
            Faces = Faces || c.Faces is not null ? FaceSettings(c.Faces) : null,
        };
    }

    /// <summary>The flag a <see cref="TrainConfig"/> setting comes from, for messages.</summary>
    internal static string Flag(string setting) => setting switch
    {
        nameof(TrainConfig.LearningRate) => "--lr",
        nameof(TrainConfig.WarmupEpochs) => "--warmup",
        nameof(TrainConfig.RandomResizedCropMinScale) => "--random-resized-crop",
        nameof(TrainConfig.EmaDecay) => "--ema",
        nameof(TrainConfig.DownUpProbability) => "--down-up",
        nameof(TrainConfig.NoiseProbability) => "--noise",
        nameof(TrainConfig.ErasingProbability) => "--erasing",
        nameof(TrainConfig.BlurProbability) => "--blur",
        nameof(TrainConfig.JpegProbability) => "--jpeg",
        nameof(TrainConfig.MixupAlpha) => "--mixup",
        nameof(TrainConfig.CutmixAlpha) => "--cutmix",
        _ => "--" + string.Concat(setting.Select((c, i) =>
            char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString())),
    };

    /// <summary>A comma-separated list of names (null when the option was not given).</summary>
    protected static IReadOnlyList<string>? Names(string? list) =>
        list?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Whether any recipe option was given (a resumed run refuses them).</summary>
    protected bool SetsRecipe =>
        new object?[] { Model, Epochs, EpochSize, BatchSize, Lr, Optimizer, WeightDecay, Scheduler, StepSize, Gamma, Warmup, ImageSize, Limit, Seed,
            Workers, LogEvery, Precision, SelectBy, Rotation, ColorJitter, RandomResizedCrop, Blur, Jpeg, Mixup, Cutmix, DownUp, Noise, Erasing,
            Input, Freeze, Ema, AverageEpochs, Crop, LayerDecay, SourcePower, BalanceSources, BalanceFakeSources, Reencode }.Any(v => v is not null)
        || NoPretrained || Faces || SetsFaces || Preset != TrainConfig.DefaultPreset.Preset;
}
