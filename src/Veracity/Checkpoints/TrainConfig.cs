using Veracity.Data;
using Veracity.Models;

namespace Veracity.Checkpoints;

/// <summary>Everything that decides a training run. Saved as config.json and inside every checkpoint.</summary>
public sealed record TrainConfig
{
    public string Preset { get; init; } = "default";
    public string Model { get; init; } = Models.Backbones.Default;
    public bool Pretrained { get; init; } = true;
    /// <summary>
    /// Start from this checkpoint's weights (the same backbone, input and frozen stages) instead of the backbone's
    /// starting weights: how <c>adapt</c> fine-tunes a trained detector on a new kind of forgery.
    /// </summary>
    public string? InitialCheckpoint { get; init; }
    /// <summary>
    /// The starting weights are validated before the first epoch and kept as best.ckpt unless an epoch beats them, so
    /// a fine-tuning run never hands back a detector worse on its validation part than the one it was given (adapt:
    /// 50 examples of a StyleGAN the base already scored at 0.985 took it to 0.976 and an old kind down 0.014).
    /// </summary>
    public bool StartIsCandidate { get; init; }
    public int ImageSize { get; init; } = 256;
    public int Epochs { get; init; } = 3;
    /// <summary>
    /// Images per epoch, drawn in turn from seeded passes over the training set (every image once per pass), so training
    /// time is epochs × epoch size whatever the data set's size (null: an epoch is one pass).
    /// </summary>
    public int? EpochSize { get; init; }
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-4;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;
    public double WeightDecay { get; init; } = 0.05;
    public Schedule Scheduler { get; init; } = Schedule.Cosine;
    public int StepSize { get; init; } = 4;
    public double Gamma { get; init; } = 0.85;
    /// <summary>Epochs (fractions allowed) over which the learning rate rises linearly from near 0; 0 = none.</summary>
    public double WarmupEpochs { get; init; }
    /// <summary>Use only the first N rows of each label file (the reference's head(N)).</summary>
    public int? Limit { get; init; }
    public int Seed { get; init; }
    public int Workers { get; init; } = 2;
    /// <summary>Print the reference's progress line every N batches.</summary>
    public int LogEvery { get; init; } = 100;
    /// <summary>See <see cref="Models.Precision"/>. A run records the resolved type.</summary>
    public Precision Precision { get; init; } = Precision.Auto;
    public SelectBy SelectBy { get; init; } = SelectBy.Auc;
    /// <summary>
    /// Trained on face crops cut with these settings (null: on the pictures as they are). Prediction with the
    /// checkpoint cuts faces the same way by itself.
    /// </summary>
    public Faces.FaceSettings? Faces { get; init; }
    /// <summary>
    /// Every picture goes through this one pipeline (resize, JPEG) before anything else, in training and at scoring
    /// alike, so that neither class can be told by how its files were made (null: pictures as they are).
    /// </summary>
    public Imaging.Reencoding? Reencode { get; init; }
    /// <summary>Each epoch draws every source of a class equally often (<see cref="Data.Sources.BalancedOrder"/>).</summary>
    public bool BalanceSources { get; init; }
    /// <summary>
    /// Each epoch draws every fake source equally often and the reals as they come: a small generator is not drowned
    /// by a big one among the fakes, and the reals keep their mix (<see cref="BalanceSources"/> also evens the reals').
    /// </summary>
    public bool BalanceFakeSources { get; init; }
    /// <summary>
    /// With either balancing, a source's share of its class's draws goes as its size to this power (0: equal shares;
    /// 0.5: the square root, so a small source is neither drowned nor repeated as often as a big one is drawn).
    /// </summary>
    public double SourcePower { get; init; }
    /// <summary>What the network sees: the pixels, or residuals of them (<see cref="ModelInput"/>).</summary>
    public ModelInput Input { get; init; } = ModelInput.Rgb;
    /// <summary>The trunk is frozen up to and including this stage (weights and batch-norm statistics); the rest trains.</summary>
    public FrozenStages Freeze { get; init; } = FrozenStages.None;
    /// <summary>
    /// Validation, best.ckpt and scoring use an exponential moving average of the weights with this decay per step
    /// (0 = off, the weights as trained).
    /// </summary>
    public double EmaDecay { get; init; }
    /// <summary>
    /// Checkpoint averaging: from the epoch this many before the end on, validation, best.ckpt and scoring use the
    /// uniform mean of the weights at the end of each epoch so far (0 = off). Batch-norm statistics are averaged the
    /// same way, as with <see cref="EmaDecay"/>.
    /// </summary>
    public int AverageEpochs { get; init; }
    /// <summary>
    /// Training sees random windows of this many pixels cut from the <see cref="ImageSize"/> picture at its scale (no
    /// resampling); validation and scoring see the whole picture, whose global pooling averages over every window.
    /// Null: training sees the whole picture too.
    /// </summary>
    public int? Crop { get; init; }
    /// <summary>
    /// Learning rate by depth: the classifier trains at the scheduled rate, layer4 at rate × d, layer3 at rate × d²,
    /// down to the stem at rate × d⁵, so the early features stay nearer their ImageNet weights (1: one rate for all).
    /// </summary>
    public double LayerDecay { get; init; } = 1;
    /// <summary>
    /// Test-time views the model is scored over when the user names none (predict, evaluate, crossval and serve --tta):
    /// the picture, then its horizontal, vertical and double flips (at most <see cref="Scoring.MaxViews"/>). Validation
    /// during training scores one view. Checkpoints written before this setting existed read as 1.
    /// </summary>
    public int TestViews { get; init; } = 1;

    // Augmentations (each off when 0 / false).
    public bool HorizontalFlip { get; init; } = true;
    public bool VerticalFlip { get; init; } = true;
    public double RotationDegrees { get; init; }
    public double ColorJitter { get; init; }
    /// <summary>Smallest area share kept by a random resized crop; 0 = off.</summary>
    public double RandomResizedCropMinScale { get; init; }
    public double BlurProbability { get; init; }
    public double JpegProbability { get; init; }
    public double DownUpProbability { get; init; }
    public double NoiseProbability { get; init; }
    public double ErasingProbability { get; init; }
    public double MixupAlpha { get; init; }
    public double CutmixAlpha { get; init; }

    /// <summary>The training-time augmentations this configuration asks for, in the order they apply.</summary>
    public List<IImageTransform> TrainAugmentations()
    {
        var list = new List<IImageTransform>();
        if (RandomResizedCropMinScale > 0) list.Add(new RandomResizedCrop(RandomResizedCropMinScale));
        if (HorizontalFlip) list.Add(new RandomHorizontalFlip());
        if (VerticalFlip) list.Add(new RandomVerticalFlip());
        if (RotationDegrees > 0) list.Add(new RandomRotation(RotationDegrees));
        if (ColorJitter > 0) list.Add(new ColorJitter(ColorJitter));
        if (BlurProbability > 0) list.Add(new RandomGaussianBlur(BlurProbability));
        if (DownUpProbability > 0) list.Add(new RandomDownUp(DownUpProbability));
        if (NoiseProbability > 0) list.Add(new RandomNoise(NoiseProbability));
        if (JpegProbability > 0) list.Add(new RandomJpeg(JpegProbability));
        if (ErasingProbability > 0) list.Add(new RandomErasing(ErasingProbability));
        return list;
    }

    /// <summary>The reference baseline, number for number (normalisation follows the backbone's weights).</summary>
    public static TrainConfig SeedPreset { get; } = new()
    {
        Preset = "seed", Model = "resnet18", ImageSize = 256, Epochs = 2, BatchSize = 40, LearningRate = 0.005,
        Optimizer = OptimizerKind.Adam, WeightDecay = 0, Scheduler = Schedule.Step, StepSize = 4, Gamma = 0.85,
        HorizontalFlip = true, VerticalFlip = true,
    };

    /// <summary>
    /// The team's CPU recipe: the pretrained features are kept usable by a small learning rate (on real faces the
    /// seed's 0.005 left the network at chance, 1e-4 did not), AdamW with cosine decay, and augmentations that
    /// imitate what differs between generators and platforms (recompression, blur, colour) so the detector leans
    /// less on one generator's exact traces.
    /// </summary>
    public static TrainConfig DefaultPreset { get; } = new()
    {
        Preset = "default", WarmupEpochs = 0.5, JpegProbability = 0.3, BlurProbability = 0.1, ColorJitter = 0.1,
    };

    /// <summary>
    /// The default preset shrunk to finish in a few minutes on two cores: what <c>veracity demo</c> trains. Flips are
    /// its only augmentations: on the synthetic set, colour jitter, JPEG re-compression and blur erase the very traces
    /// of three of its five manipulations (colour, double JPEG, resampling). Measured on the Intel machine, same data:
    /// with them the validation AUC crept to 0.945 by the 7th epoch; with flips only it held 0.965-0.967 from the
    /// 4th epoch on, far enough from the 0.95 the demo must reach that each CPU's correct rounding does not cross it.
    /// </summary>
    public static TrainConfig DemoPreset { get; } = DefaultPreset with
    {
        Preset = "demo", ImageSize = 128, Epochs = 7, WarmupEpochs = 1, BatchSize = 32, LearningRate = 5e-4, LogEvery = 10,
        ColorJitter = 0, JpegProbability = 0, BlurProbability = 0,
    };

    /// <summary>
    /// The recipe for faces, from the development corpus's leave-one-source-out folds (docs/generalisation.md). Each
    /// choice, with the figure that justified it on the corpus's hardest fold (LFW face swaps left out, trained on the
    /// two StyleGANs), where the default preset scores 0.50-0.56: aligned faces cut at 192 px, trained on random 128-px
    /// windows at the crop's own scale (no resizing, so the fine detail stays) and scored whole: 0.670 against 0.536
    /// for whole 128-px faces (screening set); 8 epochs; scored over all four flips (<see cref="TestViews"/>), which
    /// the windows trained with: 0.860 against 0.836 for one view; best.ckpt by validation log-loss, which weighs every
    /// score where AUC let a few hard fakes keep an undertrained epoch: 0.821 against 0.716 on the seed that failed;
    /// CutMix (each batch gets a box pasted from a shuffled copy of itself, the labels weighted by area): 0.883
    /// against 0.795 (mean of seeds 0-3); the fake sources drawn as the square root of their size, the reals as they
    /// come (<see cref="BalanceFakeSources"/>, <see cref="SourcePower"/> 0.5), so a few hundred StyleGAN faces are not
    /// drowned by thousands of face swaps. The pixels, not SRM residuals (until 2026-12-08): on the round-2 tuning
    /// folds the two tie (mean unseen 0.849 against 0.856, seed 0), and on a small set of one kind trained alone the
    /// residuals cost 0.16 (FFHQ against StyleGAN: 0.741 against 0.582; the seed recipe at lr 1e-4: 0.786). Not the
    /// default: it needs faces, and the default preset serves whole pictures too. History: bench/LAB-RECORD.md.
    /// </summary>
    public static TrainConfig GeneralisePreset { get; } = DefaultPreset with
    {
        Preset = "generalise", Faces = new Faces.FaceSettings(), ImageSize = 192, Crop = 128, Epochs = 8,
        TestViews = 4, SelectBy = SelectBy.LogLoss, CutmixAlpha = 1, BalanceFakeSources = true, SourcePower = 0.5,
    };

    public static IReadOnlyList<TrainConfig> Presets { get; } = [SeedPreset, DefaultPreset, GeneralisePreset, DemoPreset];

    public static TrainConfig FromPreset(string name) =>
        Presets.FirstOrDefault(p => p.Preset == name)
        ?? throw new InvalidSettingException(nameof(Preset), $"'{name}' is unknown; choose from {string.Join(", ", Presets.Select(p => p.Preset))}");

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first setting that cannot be used.</summary>
    public void Validate()
    {
        static void Require(bool condition, string setting, string problem)
        {
            if (!condition) throw new InvalidSettingException(setting, problem);
        }
        var spec = Backbones.Get(Model);
        Require(ImageSize >= 32 && ImageSize % 32 == 0, nameof(ImageSize), "must be a multiple of 32, at least 32");
        Require(Reencode?.Problem is null, nameof(Reencode), Reencode?.Problem ?? "");
        Require(Epochs >= 1, nameof(Epochs), "must be at least 1");
        Require(BatchSize >= 1, nameof(BatchSize), "must be at least 1");
        Require(TestViews is >= 1 and <= Scoring.MaxViews, nameof(TestViews), $"must be 1 to {Scoring.MaxViews} (the picture and its flips)");
        Require(EpochSize is null || EpochSize >= BatchSize, nameof(EpochSize), $"must be at least the batch size ({BatchSize})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), "must be a positive number");
        Require(Enum.IsDefined(Optimizer), nameof(Optimizer), $"must be one of {string.Join(", ", Enum.GetNames<OptimizerKind>())}");
        Require(Enum.IsDefined(Scheduler), nameof(Scheduler), "must be step or cosine");
        Require(Enum.IsDefined(SelectBy), nameof(SelectBy), "must be auc, accuracy, logloss, sourceauc or sourcelogloss");
        Require(Enum.IsDefined(Precision), nameof(Precision), "must be auto, float32 or bfloat16");
        Require(Precision != Precision.BFloat16 || spec.SupportsBFloat16, nameof(Precision),
            $"bfloat16 is not available for {Model}; backbones with a bfloat16 trunk: " +
            $"{string.Join(", ", Backbones.All.Where(b => b.SupportsBFloat16).Select(b => b.Name))}");
        Require(Limit is null or >= 1, nameof(Limit), "must be at least 1");
        Require(StepSize >= 1, nameof(StepSize), "must be at least 1");
        Require(Input == ModelInput.Rgb || spec.HasStages, nameof(Input), $"{Input} needs a backbone with stages ({StagedBackbones()})");
        Require(Freeze == FrozenStages.None || spec.HasStages, nameof(Freeze), $"freezing needs a backbone with stages ({StagedBackbones()})");
        Require(Enum.IsDefined(Input), nameof(Input), "must be rgb, npr, srm, dct or rgbsrm");
        Require(Enum.IsDefined(Freeze), nameof(Freeze), $"must be one of {string.Join(", ", Enum.GetNames<FrozenStages>())}");
        Require(EmaDecay is >= 0 and < 1, nameof(EmaDecay), "must be at least 0 and below 1");
        Require(AverageEpochs >= 0 && AverageEpochs <= Epochs, nameof(AverageEpochs), $"must be at least 0 and at most the epochs ({Epochs})");
        Require(AverageEpochs == 0 || EmaDecay == 0, nameof(AverageEpochs), "and --ema are two weight averages: choose one");
        Require(LayerDecay is > 0 and <= 1, nameof(LayerDecay), "must be above 0 and at most 1");
        Require(LayerDecay == 1 || spec.HasStages, nameof(LayerDecay), $"needs a backbone with stages ({StagedBackbones()})");
        Require(Crop is null || (Crop >= 32 && Crop < ImageSize), nameof(Crop), $"must be at least 32 and smaller than the image size ({ImageSize})");
        foreach (var (name, p) in new[] { (nameof(BlurProbability), BlurProbability), (nameof(JpegProbability), JpegProbability),
                     (nameof(DownUpProbability), DownUpProbability), (nameof(NoiseProbability), NoiseProbability),
                     (nameof(ErasingProbability), ErasingProbability) })
            Require(p is >= 0 and <= 1, name, "is a probability: between 0 and 1");
        foreach (var (name, alpha) in new[] { (nameof(MixupAlpha), MixupAlpha), (nameof(CutmixAlpha), CutmixAlpha) })
            Require(alpha >= 0 && double.IsFinite(alpha), name, "is a Beta distribution's parameter: 0 (off) or above");
        Require(SourcePower is >= 0 and <= 1, nameof(SourcePower), "must be between 0 (equal shares) and 1 (shares as the sources come)");
        Require(SourcePower == 0 || BalanceSources || BalanceFakeSources, nameof(SourcePower), "needs --balance-sources or --balance-fake-sources");
        Require(WarmupEpochs >= 0 && WarmupEpochs < Epochs, nameof(WarmupEpochs), "must be at least 0 and less than the epochs");
    }

    static string StagedBackbones() => string.Join(", ", Backbones.All.Where(b => b.HasStages).Select(b => b.Name));

    /// <summary>The learning rate for a step: a pure function of progress, so a resumed run follows the same schedule.</summary>
    public double LearningRateAt(int epoch, int batch, int batchesPerEpoch)
    {
        double step = epoch * batchesPerEpoch + batch, warmup = WarmupEpochs * batchesPerEpoch;
        double scheduled = Scheduler switch
        {
            Schedule.Step => LearningRate * Math.Pow(Gamma, epoch / StepSize),
            Schedule.Cosine => LearningRate * 0.5 * (1 + Math.Cos(Math.PI * step / (Epochs * (double)batchesPerEpoch))),
            _ => throw new InvalidSettingException(nameof(Scheduler), $"'{Scheduler}' is unknown"),
        };
        return step < warmup ? scheduled * (step + 1) / (warmup + 1) : scheduled;
    }
}
