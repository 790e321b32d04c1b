using System.Text.Json;
using Veracity.Checkpoints;
using Veracity.Data;
using Veracity.Evaluation;
using Veracity.Inference;

namespace Veracity.Experiments;

/// <summary>
/// What <c>adapt</c> is given: a trained detector, a few labelled examples of a new kind of forgery, and where the
/// detector's own training data is, to rehearse on (null: where its checkpoint says it came from). The defaults are
/// the measured recipe for the built-in detector's: at 50 examples of face swaps it went 80% of the way from 0.812
/// to the kind's ceiling, where 3 epochs at 1e-4 went 43%, and one rehearsed picture per example instead of two cost
/// the old kinds 0.013 (bench/LAB-RECORD.md).
/// </summary>
public sealed record AdaptOptions(string BaseModel, string NewLabels, string NewImages, string OutDir, string? RehearseLabels = null,
    string? RehearseImages = null, double ValidationShare = 0.3, int Epochs = 6, double LearningRate = 2e-4, double RehearseRatio = 2,
    int RehearseValidation = 400, int Seed = 0);

/// <summary>The data an adaptation trains and validates on, written under its folder (names under one image root).</summary>
public sealed record AdaptData(string TrainLabels, string ValLabels, string Images, double ValidationShare, int NewTrain, int NewVal,
    int RehearseTrain, int RehearseVal, IReadOnlySet<string> NewSources)
{
    /// <summary>What the trainer is handed: both parts under the one image root.</summary>
    public TrainData Training => new(TrainLabels, Images, ValLabels, Images, ValidationShare);
}

/// <summary>
/// A detector's figures on an adaptation's validation part: the new kind (its fakes against every real there) and
/// each old fake source (against the same reals).
/// </summary>
public sealed record AdaptFigures(double NewKindAuc, IReadOnlyList<SourceReport> OldKinds);

/// <summary>
/// Teaching a trained detector a new kind of forgery from a few examples without forgetting the old kinds: the
/// examples are split into a training and a validation part, and each is joined by a sample of what the detector
/// was trained on (rehearsal), so fine-tuning keeps seeing the old kinds and validation measures both.
/// </summary>
public static class Adaptation
{
    /// <summary>Each class an adaptation is given keeps at least this many examples for validation: an AUC on fewer says little.</summary>
    public const int MinimumValidationPerClass = 3;

    /// <summary>The folder names under the adaptation's image root: the new examples' folder and the rehearsal's.</summary>
    const string NewFolder = "new", RehearseFolder = "rehearse";

    /// <summary>
    /// Under OUT: what the adaptation was asked (written first, so <c>adapt --resume OUT</c> can continue a stopped one
    /// from it), and what it measured (written last, so its presence means it finished).
    /// </summary>
    public const string RequestFile = "adapt-request.json", ReportFile = "adapt.json";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Records what an adaptation was asked under its folder, with every path made absolute.</summary>
    public static AdaptOptions Record(AdaptOptions options)
    {
        static string? Full(string? path) => path is null ? null : Path.GetFullPath(path);
        options = options with
        {
            BaseModel = Full(options.BaseModel)!, NewLabels = Full(options.NewLabels)!, NewImages = Full(options.NewImages)!, OutDir = Full(options.OutDir)!,
            RehearseLabels = Full(options.RehearseLabels), RehearseImages = Full(options.RehearseImages),
        };
        Directory.CreateDirectory(options.OutDir);
        AtomicFile.WriteAllBytes(Path.Combine(options.OutDir, RequestFile), JsonSerializer.SerializeToUtf8Bytes(options, Json));
        return options;
    }

    /// <summary>What the stopped adaptation in <paramref name="outDir"/> was asked; refuses a folder without one or a finished one.</summary>
    public static AdaptOptions Recorded(string outDir)
    {
        string request = Path.Combine(outDir, RequestFile);
        if (!File.Exists(request)) throw new VeracityException($"{outDir} holds no adaptation to resume ({RequestFile} not found)");
        if (File.Exists(Path.Combine(outDir, ReportFile))) throw new VeracityException($"{outDir} finished already ({ReportFile} is there)");
        return JsonSerializer.Deserialize<AdaptOptions>(File.ReadAllBytes(request), Json)
               ?? throw new VeracityException($"{request}: not an adaptation request");
    }

    /// <summary>Writes what an adaptation measured, last.</summary>
    public static void Report(string outDir, object report) =>
        AtomicFile.WriteAllBytes(Path.Combine(outDir, ReportFile), JsonSerializer.SerializeToUtf8Bytes(report, Json));

    /// <summary>
    /// Splits the new examples, samples the rehearsal (<see cref="AdaptOptions.RehearseRatio"/> times the new training
    /// part, and up to <see cref="AdaptOptions.RehearseValidation"/> for validation, shared equally among its sources),
    /// and writes both label files under OUT/data, whose images folder links to the two image folders.
    /// </summary>
    public static AdaptData Plan(AdaptOptions options)
    {
        var info = Checkpoint.ReadInfo(options.BaseModel);
        // Examples without a source are the new kind, by that name.
        var newRows = LabelFile.ReadLabels(options.NewLabels).Select(r => r.Source == Sources.Unknown ? r with { Source = NewFolder } : r).ToList();
        RequireEnough(newRows, options);
        var (rehearseLabels, rehearseImages) = (options.RehearseLabels, options.RehearseImages) switch
        {
            ({ } givenLabels, { } givenImages) => (givenLabels, givenImages),
            (null, null) when info.Data is { } trained && File.Exists(trained.TrainLabels) => (trained.TrainLabels, trained.TrainImages),
            (null, null) => throw new VeracityException($"{options.BaseModel} was trained on {info.Data?.TrainLabels ?? "data it does not record"}, " +
                                                        "which is not here: pass --rehearse LABELS --rehearse-images DIR (what it was trained on, or like it)"),
            _ => throw new VeracityException("--rehearse and --rehearse-images go together"),
        };
        var rehearsal = LabelFile.ReadLabels(rehearseLabels);
        if (info.Data?.Sources is { } sourcesFile && options.RehearseLabels is null) rehearsal = Sources.Apply(rehearsal, sourcesFile);

        var (newTrain, newVal) = Splits.Stratified(newRows, options.ValidationShare, options.Seed);
        var (rehearseTrain, rehearseVal) = SampleRehearsal(rehearsal, (int)Math.Ceiling(options.RehearseRatio * newTrain.Count),
            options.RehearseValidation, options.Seed);

        string data = Path.Combine(options.OutDir, "data"), images = Path.Combine(data, "images");
        Directory.CreateDirectory(images);
        Link(Path.Combine(images, NewFolder), options.NewImages);
        Link(Path.Combine(images, RehearseFolder), rehearseImages);
        LabelRow Under(LabelRow row, string folder) => row with { Name = $"{folder}/{row.Name}" };
        string trainLabels = Path.Combine(data, "train.csv"), valLabels = Path.Combine(data, "val.csv");
        CsvFiles.WriteLabels(trainLabels, [.. newTrain.Select(r => Under(r, NewFolder)), .. rehearseTrain.Select(r => Under(r, RehearseFolder))]);
        CsvFiles.WriteLabels(valLabels, [.. newVal.Select(r => Under(r, NewFolder)), .. rehearseVal.Select(r => Under(r, RehearseFolder))]);
        return new AdaptData(trainLabels, valLabels, images, options.ValidationShare, newTrain.Count, newVal.Count, rehearseTrain.Count, rehearseVal.Count,
            newRows.Where(r => r.Target == 1).Select(r => r.Source).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// Refuses examples too few to validate on: every class given must keep <see cref="MinimumValidationPerClass"/>
    /// for validation and one for training, and a new kind of forgery needs deepfakes.
    /// </summary>
    static void RequireEnough(IReadOnlyList<LabelRow> rows, AdaptOptions options)
    {
        int fakes = rows.Count(r => r.Target == 1), reals = rows.Count - fakes;
        if (fakes == 0) throw new VeracityException($"{options.NewLabels} has no deepfake (target 1): a new kind of forgery needs examples of it");
        int needed = (int)Math.Ceiling(MinimumValidationPerClass / options.ValidationShare);
        foreach (var (count, name) in new[] { (fakes, "deepfake"), (reals, "real") })
            if (count > 0 && (Math.Round(count * options.ValidationShare) < MinimumValidationPerClass || count - Math.Round(count * options.ValidationShare) < 1))
                throw new VeracityException($"too few examples to validate on: {options.NewLabels} has {count} {name} picture(s); with " +
                    $"--validation-share {options.ValidationShare} adapt keeps {MinimumValidationPerClass} of each class for validation, " +
                    $"so it needs at least {needed} (and one more to train on)");
    }

    /// <summary>
    /// The rehearsal's validation part (each source equally, up to <paramref name="validation"/> in all) and a training
    /// part of <paramref name="train"/> drawn from the rest, each source in proportion to its size; seeded.
    /// </summary>
    static (IReadOnlyList<LabelRow> Train, IReadOnlyList<LabelRow> Val) SampleRehearsal(IReadOnlyList<LabelRow> rows, int train, int validation, int seed)
    {
        var groups = rows.GroupBy(r => (r.Target, r.Source)).OrderBy(g => g.Key.Target).ThenBy(g => g.Key.Source, StringComparer.Ordinal)
            .Select(g =>
            {
                var members = g.ToArray();
                new Random(Seeds.Mix(seed, members.Length, Seeds.Salt.Rehearsal)).Shuffle(members);
                return members;
            }).ToList();
        int perGroup = Math.Max(1, validation / Math.Max(1, groups.Count));
        var val = groups.SelectMany(g => g.Take(Math.Min(perGroup, g.Length / 2))).ToList();
        var rest = groups.SelectMany(g => g.Skip(Math.Min(perGroup, g.Length / 2))).ToArray();
        new Random(Seeds.Mix(seed, rest.Length, Seeds.Salt.Rehearsal)).Shuffle(rest);
        return (rest.Take(train).ToList(), val);
    }

    static void Link(string link, string target)
    {
        if (Directory.Exists(link) || File.Exists(link)) Directory.Delete(link);
        Directory.CreateSymbolicLink(link, Path.GetFullPath(target));
    }

    /// <summary>A detector's figures on the validation part (<paramref name="images"/> as the data's, or its face crops).</summary>
    public static AdaptFigures Measure(string model, string valLabels, string images, IReadOnlySet<string> newSources, ScoringOptions scoring,
        Action<int>? startBatches = null, Action? batchDone = null)
    {
        var rows = LabelFile.ReadLabels(valLabels);
        using var detector = Detector.Load(model);
        var scores = Prediction.Run(detector, images, rows.Select(r => r.Name).ToList(), scoring, OnError.Fail, startBatches, batchDone).Images
            .Select(i => i.Score!.Value).ToList();
        // The new kind: the new examples' fakes against every real of the validation part, new or rehearsed.
        var onNew = Enumerable.Range(0, rows.Count).Where(i => rows[i].Target == 0 || rows[i].Name.StartsWith(NewFolder + "/")).ToList();
        double newKind = Metrics.ScoreMetrics.Auc(onNew.Select(i => scores[i]).ToList(), onNew.Select(i => rows[i].Target).ToList());
        var old = Evaluator.BySource(rows, scores).Where(s => !newSources.Contains(s.Source)).ToList();
        return new AdaptFigures(newKind, old);
    }

    /// <summary>
    /// The base detector's recipe, fine-tuned: its weights to start, a few epochs at a small rate, no warm-up, and the
    /// best epoch, the base itself a candidate, by the mean of each source's log-loss, so the new kind weighs as much as each old one. Plain log-loss
    /// lets the rehearsal's 400 validation pictures outvote the new kind's 16: with one rehearsed picture per example it
    /// kept the first of 10 epochs, 0.836 on the held-out swaps, where the last scored 0.92 on validation (LAB-RECORD).
    /// </summary>
    public static TrainConfig ConfigFor(CheckpointInfo baseInfo, AdaptOptions options) => baseInfo.Config with
    {
        InitialCheckpoint = Path.GetFullPath(options.BaseModel), Epochs = options.Epochs, LearningRate = options.LearningRate,
        WarmupEpochs = 0, EpochSize = null, Seed = options.Seed, SelectBy = SelectBy.SourceLogLoss, StartIsCandidate = true,
        Preset = $"{baseInfo.Config.Preset}, adapted",
    };
}
