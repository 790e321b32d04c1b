using System.Diagnostics;
using System.Text.Json;
using Veracity.Checkpoints;
using Veracity.Data;
using Veracity.Evaluation;
using Veracity.Inference;
using Veracity.Metrics;
using Veracity.Training;

namespace Veracity.Experiments;

/// <summary>
/// What a cross-validation runs: the labelled data, the recipe, which fake sources to leave out, and where. With
/// <see cref="Members"/> above 1 each fold trains that many models on the same split (member k with the recipe's seed
/// + k: another start, order and augmentation) and is scored by the mean of their scores.
/// </summary>
public sealed record CrossValOptions(string Labels, string Images, string OutDir, TrainConfig Config, string? SourcesFile = null,
    IReadOnlyList<string>? Folds = null, double HoldOut = 0.2, ScoringOptions? Scoring = null, int Members = 1)
{
    /// <summary>How each fold's model is scored (over the recipe's own test-time views unless given).</summary>
    public ScoringOptions Scoring { get; init; } = Scoring ?? new ScoringOptions();
}

/// <summary>
/// One fold: trained without <see cref="Source"/>, then tested on all of its fakes against the held-out reals
/// (<see cref="Unseen"/>), and on the other sources' held-out part (<see cref="InDomain"/>), neither of which picked
/// the checkpoint. <see cref="BySource"/> gives every fake source's figures on that test set (the left-out one is
/// unseen, the others in-domain), scored over <see cref="Tta"/> test-time views (the recipe's
/// <see cref="TrainConfig.TestViews"/> unless crossval was given them) and averaged over <see cref="Members"/> models.
/// <see cref="RealsBySource"/> gives every real source's held-out reals against all of those fakes (null in folds
/// written before it existed).
/// </summary>
public sealed record FoldResult(string Source, int TrainImages, BinaryMetrics Unseen, BinaryMetrics InDomain,
    IReadOnlyList<SourceReport> BySource, double Minutes, int Tta = 1, int Members = 1,
    IReadOnlyList<RealSourceReport>? RealsBySource = null);

public sealed record CrossValReport(IReadOnlyList<FoldResult> Folds)
{
    public double? MeanUnseenAuc =>
        Folds.Select(f => f.Unseen.Auc).OfType<double>().DefaultIfEmpty(double.NaN).Average() is var m && double.IsNaN(m) ? null : m;
    public FoldResult? Worst => Folds.Where(f => f.Unseen.Auc is not null).MinBy(f => f.Unseen.Auc);
}

/// <summary>
/// Leave-one-source-out: for each fake source S, train on every other fake source plus the training part of the
/// reals, and test on S's fakes against the held-out reals. The held-out reals (and each source's held-out part)
/// are drawn once from the seed, so every fold is tested against the same reals. The validation that picks each
/// epoch's best checkpoint is a share of the training part, never the held-out part: until 2026-12-03 it was the
/// held-out part itself, so the in-domain figures chose their own epoch. Each fold is an ordinary run folder; a
/// finished fold leaves <c>result.json</c>, so an interrupted cross-validation resumes fold by fold (and a fold
/// stopped mid-training resumes from its last checkpoint).
/// </summary>
public static class CrossValidation
{
    public const string ResultFile = "result.json", ReportFile = "crossval.json", HeatmapFile = "crossval.png";

    /// <summary>The share of each group of the training part (the reals, each fake source) that validates instead.</summary>
    public const double ValidationShare = 0.1;

    /// <summary>
    /// A fold's rows: what it trains on, what picks its checkpoint, and what it is tested on (in-domain: the held-out
    /// reals and the other sources' held-out part; the test: the held-out reals and every fake of the left-out source).
    /// </summary>
    public sealed record Fold(string Source, string Dir, IReadOnlyList<LabelRow> Train, IReadOnlyList<LabelRow> Val,
        IReadOnlyList<LabelRow> InDomain, IReadOnlyList<LabelRow> Test);

    /// <summary>The folds this cross-validation will run, with their rows (nothing is trained or written).</summary>
    public static IReadOnlyList<Fold> Plan(CrossValOptions options)
    {
        if (options.HoldOut is <= 0 or >= 1) throw new VeracityException("the held-out fraction must be between 0 and 1");
        if (options.Members < 1) throw new VeracityException("a fold needs at least one model (members)");
        var rows = LabelFile.ReadLabels(options.Labels);
        if (options.SourcesFile is not null) rows = Sources.Apply(rows, options.SourcesFile);
        var fakeSources = rows.Where(r => r.Target == 1).Select(r => r.Source).Distinct().Order(StringComparer.Ordinal).ToList();
        if (fakeSources.Count < 2)
            throw new VeracityException($"leave-one-source-out needs at least two fake sources; {options.Labels} has " +
                                        (fakeSources.Count == 0 ? "no fakes" : $"only '{fakeSources[0]}'") +
                                        " (give sources in a 'source' column or with --sources)");
        if (!rows.Any(r => r.Target == 0)) throw new VeracityException($"{options.Labels} has no real images to test against");
        var chosen = options.Folds ?? fakeSources;
        var unknown = chosen.Where(s => !fakeSources.Contains(s)).ToList();
        if (unknown.Count > 0)
            throw new VeracityException($"no fake has source {string.Join(", ", unknown.Select(s => $"'{s}'"))}; " +
                                        $"the fake sources are {string.Join(", ", fakeSources)}");

        int seed = options.Config.Seed;
        var heldOut = Share(rows, options.HoldOut, seed, Seeds.Salt.CrossValidationSplit);
        var validating = Share(rows.Where(r => !heldOut.Contains(r.Name)).ToList(), ValidationShare, seed, Seeds.Salt.ValidationSplit);
        return chosen.Select(source =>
        {
            bool Other(LabelRow r) => r.Target == 0 || r.Source != source;
            return new Fold(source, Path.Combine(options.OutDir, source),
                rows.Where(r => Other(r) && !heldOut.Contains(r.Name) && !validating.Contains(r.Name)).ToList(),
                rows.Where(r => Other(r) && validating.Contains(r.Name)).ToList(),
                rows.Where(r => Other(r) && heldOut.Contains(r.Name)).ToList(),
                rows.Where(r => (r.Target == 0 && heldOut.Contains(r.Name)) || (r.Target == 1 && r.Source == source)).ToList());
        }).ToList();
    }

    /// <summary>A seeded share of the reals and of each fake source (at least one, never all), the same for every fold.</summary>
    static HashSet<string> Share(IReadOnlyList<LabelRow> rows, double fraction, int seed, long salt)
    {
        var share = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in rows.GroupBy(r => r.Target == 0 ? "" : r.Source).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var members = group.Select(r => r.Name).ToArray();
            new Random(Seeds.Mix(seed, salt, Seeds.Of(group.Key))).Shuffle(members);
            share.UnionWith(members.Take(Math.Min(members.Length - 1, Math.Max(1, (int)Math.Round(members.Length * fraction)))));
        }
        return share;
    }

    /// <summary>
    /// Runs (or resumes) every fold, then writes <c>crossval.json</c> and the heatmap. <paramref name="observerFor"/>
    /// gives each fold's training its progress reporting; <paramref name="foldDone"/> hears each result.
    /// </summary>
    public static CrossValReport Run(CrossValOptions options, Func<Fold, ITrainingObserver> observerFor, Action<FoldResult>? foldDone = null,
        CancellationToken stop = default)
    {
        var results = new List<FoldResult>();
        int tta = Views(options);
        foreach (var fold in Plan(options))
        {
            RequireSamePlan(fold);
            string resultPath = Path.Combine(fold.Dir, ResultFile);
            var stored = File.Exists(resultPath) ? JsonSerializer.Deserialize<FoldResult>(File.ReadAllBytes(resultPath), Json)! : null;
            // A finished fold asked for other test-time views is only scored again, and keeps the minutes it took;
            // asked for more members, it trains the ones it lacks and adds their minutes.
            var result = stored is not null && stored.Tta == tta && stored.Members == options.Members ? stored
                : RunFold(fold, options, () => observerFor(fold), stop) is not { } run ? null
                : stored is null ? run
                : run with { Minutes = stored.Minutes + (stored.Members == options.Members ? 0 : run.Minutes) };
            if (result is null) return new CrossValReport(results); // stopped: the fold resumes next time
            AtomicFile.WriteAllBytes(resultPath, JsonSerializer.SerializeToUtf8Bytes(result, Json));
            results.Add(result);
            foldDone?.Invoke(result);
        }
        var report = new CrossValReport(results);
        AtomicFile.WriteAllBytes(Path.Combine(options.OutDir, ReportFile), JsonSerializer.SerializeToUtf8Bytes(new
        {
            options.Labels, options.Config, options.Members, options.HoldOut, meanUnseenAuc = report.MeanUnseenAuc,
            worst = report.Worst?.Source, folds = results,
        }, Json));
        CrossValHeatmap.Write(report, Path.Combine(options.OutDir, HeatmapFile));
        return report;
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Member <paramref name="member"/>'s run folder in a fold: <c>run</c> for the first, then <c>run-2</c>, <c>run-3</c>...</summary>
    public static string MemberDir(string foldDir, int member) => Path.Combine(foldDir, member == 0 ? "run" : $"run-{member + 1}");

    /// <summary>
    /// Trains (or resumes) each of the fold's members that has not finished, then scores the fold. The observer is
    /// asked for only when a member trains. Null when stopped.
    /// </summary>
    static FoldResult? RunFold(Fold fold, CrossValOptions options, Func<ITrainingObserver> observerFor, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        string trainLabels = Path.Combine(fold.Dir, TrainFile), valLabels = Path.Combine(fold.Dir, ValFile);
        ITrainingObserver? observer = null;
        var best = new List<string>();
        for (int member = 0; member < options.Members; member++)
        {
            string runDir = MemberDir(fold.Dir, member), last = Path.Combine(runDir, Trainer.LastFile);
            if (File.Exists(last) && Checkpoint.ReadInfo(last) is var info && info.Epoch >= info.Config.Epochs && info.NextBatch == 0)
            {
                best.Add(Path.Combine(runDir, Trainer.BestFile));
                continue;
            }
            observer ??= observerFor();
            TrainResult trained;
            if (File.Exists(last))
                trained = Trainer.Resume(runDir, observer, stop);
            else
            {
                if (member == 0)
                {
                    Directory.CreateDirectory(fold.Dir);
                    CsvFiles.WriteLabels(Path.Combine(fold.Dir, TestFile), fold.Test);
                    CsvFiles.WriteLabels(Path.Combine(fold.Dir, InDomainFile), fold.InDomain);
                    CsvFiles.WriteLabels(valLabels, fold.Val);
                    CsvFiles.WriteLabels(trainLabels, fold.Train); // last: its presence says the fold's split is all written
                }
                if (options.Members > 1) observer.Line($"Member {member + 1} of {options.Members} (seed {options.Config.Seed + member})");
                trained = Trainer.Train(options.Config with { Seed = options.Config.Seed + member },
                    new TrainData(trainLabels, options.Images, valLabels, options.Images, ValidationShare), runDir, observer, stop);
            }
            if (trained.Outcome != TrainOutcome.Finished) return null;
            best.Add(trained.BestCheckpoint);
        }
        return Score(fold, options, best, clock);
    }

    const string TrainFile = "train_label.txt", ValFile = "val_label.txt", InDomainFile = "in_domain_label.txt", TestFile = "test_label.txt";

    /// <summary>
    /// Refuses a fold folder whose label files another plan wrote (another seed, hold-out or label file, or a version
    /// that validated on the held-out part), so that no fold goes on training or is scored on rows it was not split into.
    /// </summary>
    static void RequireSamePlan(Fold fold)
    {
        if (!File.Exists(Path.Combine(fold.Dir, TrainFile))) return; // written last: nothing of this fold has trained
        foreach (var (file, planned) in new[] { (TrainFile, fold.Train), (ValFile, fold.Val), (InDomainFile, fold.InDomain), (TestFile, fold.Test) })
        {
            string path = Path.Combine(fold.Dir, file);
            if (!File.Exists(path) || !LabelFile.ReadLabels(path).Select(r => r.Name).SequenceEqual(planned.Select(r => r.Name)))
                throw new VeracityException($"{path} was not split as these options split the data (another --seed, --hold-out or " +
                                            "label file, or a crossval from before 2026-12-03, which validated on the held-out part); " +
                                            "give another --out");
        }
    }

    /// <summary>Scores a fold by the mean of its members' scores; its minutes are <paramref name="clock"/>'s when scoring ends.</summary>
    static FoldResult Score(Fold fold, CrossValOptions options, IReadOnlyList<string> bestCheckpoints, Stopwatch clock)
    {
        // The fold's test set and its in-domain held-out part, scored in one pass: the held-out reals are in both.
        var evaluated = fold.InDomain.Concat(fold.Test.Where(r => r.Target == 1)).ToList();
        // The recipe's views, not the checkpoint's: a fold trained before the recipe had them would record another number.
        int views = Views(options);
        var scoring = options.Scoring with { Tta = views };
        var names = evaluated.Select(r => r.Name).ToList();
        var scored = Prediction.Mean(bestCheckpoints.Select(checkpoint =>
        {
            using var detector = Detector.Load(checkpoint, windows: scoring.Window > 0);
            return Prediction.Run(detector, options.Images, names, scoring, OnError.Fail);
        }).ToList());
        var scores = scored.Images.Select(i => i.Score!.Value).ToList();
        BinaryMetrics On(Func<LabelRow, bool> include)
        {
            var picked = Enumerable.Range(0, evaluated.Count).Where(i => include(evaluated[i])).ToList();
            return BinaryMetrics.Compute(picked.Select(i => scores[i]).ToList(), picked.Select(i => evaluated[i].Target).ToList());
        }
        return new FoldResult(fold.Source, fold.Train.Count,
            On(r => r.Target == 0 || r.Source == fold.Source),
            On(r => r.Target == 0 || r.Source != fold.Source),
            Evaluator.BySource(evaluated, scores), clock.Elapsed.TotalMinutes, views, bestCheckpoints.Count,
            Evaluator.RealsBySource(evaluated, scores));
    }

    /// <summary>The test-time views each fold is scored over: those asked for, else the recipe's own.</summary>
    static int Views(CrossValOptions options) => options.Scoring.Tta ?? options.Config.TestViews;
}
