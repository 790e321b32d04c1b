using System.Text.Json;
using Veracity.Checkpoints;
using Veracity.Data;
using Veracity.Evaluation;
using Veracity.Experiments;
using Veracity.Inference;
using Veracity.Metrics;
using Veracity.Synth;
using Veracity.Training;

namespace Veracity.Tests;

public class SourcesTests
{
    [Fact]
    public void The_source_column_is_optional_and_an_empty_value_means_unknown()
    {
        using var dir = new TempDir();
        var with = LabelFile.ReadLabels(dir.File("with.csv", "img_name,target,source\na.jpg,1,stylegan2\nb.jpg,0,\nc.jpg,0,unsplash\n"));
        Assert.Equal(["stylegan2", Sources.Unknown, "unsplash"], with.Select(r => r.Source));
        var without = LabelFile.ReadLabels(dir.File("without.csv", "img_name,target\na.jpg,1\n"));
        Assert.Equal(Sources.Unknown, without.Single().Source);
    }

    [Theory]
    [InlineData("two words")]
    [InlineData("../up")]
    [InlineData("-dash-first")]
    public void A_bad_source_name_is_an_error_naming_the_file_and_line(string source)
    {
        using var dir = new TempDir();
        string path = dir.File("labels.csv", $"img_name,target,source\na.jpg,1,ok\nb.jpg,0,\"{source}\"\n");
        var error = Assert.Throws<LabelFileException>(() => LabelFile.ReadLabels(path));
        Assert.Contains("labels.csv", error.Message);
        Assert.Contains("line 3", error.Message);
        Assert.Contains(source, error.Message);
    }

    [Fact]
    public void A_sources_file_gives_rows_their_sources_and_a_selection_names_what_exists()
    {
        using var dir = new TempDir();
        var rows = Sources.Apply(LabelFile.ReadLabels(dir.File("labels.csv", "img_name,target\na.jpg,1\nb.jpg,1\nc.jpg,0\nd.jpg,1\n")),
            dir.File("sources.csv", "img_name,source\na.jpg,gan\nb.jpg,swap\nc.jpg,lfw\n"));
        Assert.Equal(["gan", "swap", "lfw", Sources.Unknown], rows.Select(r => r.Source));

        Assert.Equal(["a.jpg", "c.jpg"], Sources.Select(rows, ["gan", "lfw"], null).Select(r => r.Name));
        Assert.Equal(["a.jpg", "c.jpg", "d.jpg"], Sources.Select(rows, null, ["swap"]).Select(r => r.Name));
        var typo = Assert.Throws<VeracityException>(() => Sources.Select(rows, ["gna"], null));
        Assert.Contains("'gna'", typo.Message);
        Assert.Contains("gan, lfw, swap, unknown", typo.Message);
        Assert.Throws<VeracityException>(() => Sources.Select(rows, ["swap"], ["swap"]));
    }

    [Fact]
    public void Balanced_epochs_draw_every_source_of_a_class_equally_and_repeat_exactly()
    {
        // 90 fakes from one source and 10 from another, 50 reals: each fake source gets 50 of the 100 fake draws.
        var rows = Enumerable.Range(0, 150).Select(i => new LabelRow($"{i}.jpg", i < 100 ? 1 : 0, i + 2,
            i < 90 ? "big" : i < 100 ? "small" : "real")).ToList();
        var order = Sources.BalancedOrder(rows, seed: 3, epoch: 0);
        Assert.Equal(rows.Count, order.Length);
        var drawn = order.GroupBy(i => rows[i].Source).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal((50, 50, 50), (drawn["big"], drawn["small"], drawn["real"]));
        Assert.Equal(10, order.Where(i => rows[i].Source == "small").Distinct().Count()); // every small row, five times each
        Assert.Equal(50, order.Where(i => rows[i].Source == "big").Distinct().Count());   // big rows without repeats

        Assert.Equal(order, Sources.BalancedOrder(rows, seed: 3, epoch: 0));
        Assert.NotEqual(order, Sources.BalancedOrder(rows, seed: 3, epoch: 1));
    }

    [Fact]
    public void Balancing_only_the_fakes_evens_the_fake_sources_and_keeps_every_real_once()
    {
        // 90 fakes from one source and 10 from another; 40 reals from one source and 10 from another.
        var rows = Enumerable.Range(0, 150).Select(i => new LabelRow($"{i}.jpg", i < 100 ? 1 : 0, i + 2,
            i < 90 ? "big" : i < 100 ? "small" : i < 140 ? "lfw" : "portraits")).ToList();
        var order = Sources.BalancedOrder(rows, seed: 3, epoch: 0, fakesOnly: true);
        var drawn = order.GroupBy(i => rows[i].Source).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal((50, 50, 40, 10), (drawn["big"], drawn["small"], drawn["lfw"], drawn["portraits"]));
        Assert.Equal(Enumerable.Range(100, 50), order.Where(i => rows[i].Target == 0).Order()); // each real once
        Assert.NotEqual(Enumerable.Range(100, 50), order.Where(i => rows[i].Target == 0));     // in a shuffled order
    }

    [Fact]
    public void A_source_power_shares_the_draws_by_size_to_that_power()
    {
        // 90 and 10 fakes, 50 reals. Square root: the shares go as 3 : 1, so 75 and 25 of the 100 fake draws; the small
        // source's rows repeat (every one drawn), the big one's are subsampled. Power 1 keeps the sizes, each row once.
        var rows = Enumerable.Range(0, 150).Select(i => new LabelRow($"{i}.jpg", i < 100 ? 1 : 0, i + 2,
            i < 90 ? "big" : i < 100 ? "small" : "real")).ToList();
        int[] Drawn(double power, string source) =>
            Sources.BalancedOrder(rows, seed: 3, epoch: 0, fakesOnly: true, power: power).Where(i => rows[i].Source == source).ToArray();
        Assert.Equal((75, 25, 50), (Drawn(0.5, "big").Length, Drawn(0.5, "small").Length, Drawn(0.5, "real").Length));
        Assert.Equal(10, Drawn(0.5, "small").Distinct().Count());
        Assert.Equal(75, Drawn(0.5, "big").Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 90), Drawn(1, "big").Order());
        Assert.Equal(Enumerable.Range(90, 10), Drawn(1, "small").Order());
        // Power 0: equal shares, the draws left over to the first sources (100 among 3: 34, 33, 33).
        var three = rows.Select(r => r with { Source = r.Source == "big" && r.Line % 3 == 0 ? "another" : r.Source }).ToList();
        var equal = Sources.BalancedOrder(three, seed: 3, epoch: 0, fakesOnly: true);
        Assert.Equal([34, 33, 33], new[] { "another", "big", "small" }.Select(s => equal.Count(i => three[i].Source == s)));
    }

    /// <summary>Adds one label row per value, of this source and class, with the value as its score.</summary>
    static void AddScored(List<LabelRow> rows, List<double> scores, string source, int target, double[] values)
    {
        foreach (double v in values)
        {
            rows.Add(new LabelRow($"{rows.Count}.jpg", target, rows.Count + 2, source));
            scores.Add(v);
        }
    }

    [Fact]
    public void By_source_flags_an_inverted_source_and_compares_with_its_own_reals()
    {
        var (rows, scores) = (new List<LabelRow>(), new List<double>());
        void Add(string source, int target, params double[] values) => AddScored(rows, scores, source, target, values);
        Add("lfw", 0, 0.2, 0.3);
        Add("unsplash", 0, 0.4, 0.5);
        Add("lfw", 1, 0.9, 0.8);      // caught
        Add("gan", 1, 0.1, 0.15);     // scored more real than every real: inverted
        var report = Evaluator.BySource(rows, scores);

        var gan = report.Single(s => s.Source == "gan");
        Assert.Equal(0, gan.VsAllReals.Auc);
        Assert.True(gan.Inverted);
        Assert.Null(gan.VsOwnReals);
        var lfw = report.Single(s => s.Source == "lfw");
        Assert.Equal((1.0, 1.0, false), (lfw.VsAllReals.Auc!.Value, lfw.VsOwnReals!.Auc!.Value, lfw.Inverted));
        Assert.Equal(0.85, lfw.MeanScore, 1e-12);
    }

    [Fact]
    public void Reals_by_source_show_which_reals_are_called_fake()
    {
        var (rows, scores) = (new List<LabelRow>(), new List<double>());
        void Add(string source, int target, params double[] values) => AddScored(rows, scores, source, target, values);
        Add("lfw", 0, 0.1, 0.2, 0.3, 0.4);
        Add("ffhq", 0, 0.6, 0.7, 0.2, 0.9);   // three of four at 0.5 or above: called fake
        Add("gan", 1, 0.8, 0.65, 0.95);
        var report = Evaluator.RealsBySource(rows, scores);

        Assert.Equal(["ffhq", "lfw"], report.Select(r => r.Source));
        var ffhq = report[0];
        Assert.Equal((4, 0.75), (ffhq.Reals, ffhq.CalledFake));
        Assert.Equal(0.6, ffhq.MeanScore, 1e-12);
        Assert.Equal(9.0 / 12, ffhq.VsAllFakes.Auc!.Value, 1e-12);   // of the 12 (fake, real) pairs, 9 ranked right
        Assert.Equal((0.0, 1.0), (report[1].CalledFake, report[1].VsAllFakes.Auc!.Value));
        // One real source: its figures are the overall ones, so there is nothing to compare.
        Assert.Empty(Evaluator.RealsBySource(rows.Where(r => r.Source != "ffhq").ToList(), scores.Where((_, i) => rows[i].Source != "ffhq").ToList()));
    }
}

/// <summary>The sources options and crossval through the real command line, on a tiny synthetic set with three kinds.</summary>
public class SourcesCommandTests : IDisposable
{
    readonly TempDir _dir = new();
    readonly string _labels, _images;

    public SourcesCommandTests()
    {
        SyntheticDataset.Generate(new SynthOptions(_dir.Path, Count: 60, Size: 48, Seed: 5, ValFraction: 0.2,
            ManipulationKinds: [Manipulations.Splice, Manipulations.Colour, Manipulations.Checkerboard]));
        _labels = Path.Combine(_dir.Path, "trainset_label.txt");
        _images = Path.Combine(_dir.Path, "trainset");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Stats_counts_per_source_and_train_refuses_an_unknown_source()
    {
        var stats = Cli.Run("stats", "--labels", _labels, "--images", _images);
        Assert.True(stats.ExitCode == 0, stats.All);
        Assert.Contains("By source", stats.Output);
        Assert.Contains(Manipulations.Checkerboard, stats.Output);

        var train = Cli.Run("train", "--train-labels", _labels, "--train-images", _images, "--only-sources", "splice,blur",
            "--no-pretrained", "--epochs", "1", "--image-size", "32", "--out", Path.Combine(_dir.Path, "run"));
        Assert.Equal(2, train.ExitCode);
        Assert.Contains("'blur'", train.All);
        // Spectre wraps at 80 columns when its output is not a terminal.
        Assert.Contains("checkerboard, colour, scene, splice", System.Text.RegularExpressions.Regex.Replace(train.All, @"\s+", " "));
    }

    [Fact]
    public void Crossval_trains_one_fold_per_left_out_source_writes_its_report_and_resumes()
    {
        string outDir = Path.Combine(_dir.Path, "cv");
        string[] args = ["crossval", "--labels", _labels, "--images", _images, "--folds", "splice,colour", "--no-pretrained",
            "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--out", outDir];
        var first = Cli.Run(args);
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("2 trainings", first.Output);
        Assert.Contains("mean", first.Output);

        using (var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, CrossValidation.ReportFile))))
        {
            var folds = report.RootElement.GetProperty("folds").EnumerateArray().ToList();
            Assert.Equal(["splice", "colour"], folds.Select(f => f.GetProperty("source").GetString()));
            foreach (var fold in folds)
            {
                Assert.InRange(fold.GetProperty("unseen").GetProperty("auc").GetDouble(), 0, 1);
                // The left-out source's fakes are all in its test set; it never trains on them.
                string source = fold.GetProperty("source").GetString()!;
                var trained = LabelFile.ReadLabels(Path.Combine(outDir, source, "train_label.txt"));
                Assert.DoesNotContain(trained, r => r.Source == source);
                var tested = LabelFile.ReadLabels(Path.Combine(outDir, source, "test_label.txt"));
                Assert.Equal(LabelFile.ReadLabels(_labels).Count(r => r.Source == source), tested.Count(r => r.Target == 1));
                Assert.DoesNotContain(tested.Where(r => r.Target == 0), real => trained.Any(t => t.Name == real.Name));
                // The checkpoint is picked on a share of the training part (reals and every trained source), never on
                // the held-out part that the in-domain and unseen figures come from.
                var validated = LabelFile.ReadLabels(Path.Combine(outDir, source, "val_label.txt"));
                var inDomain = LabelFile.ReadLabels(Path.Combine(outDir, source, "in_domain_label.txt"));
                var heldOut = inDomain.Concat(tested).Select(r => r.Name).ToHashSet();
                Assert.DoesNotContain(validated, r => heldOut.Contains(r.Name) || trained.Any(t => t.Name == r.Name));
                Assert.Equal(trained.Select(r => r.Source).Distinct().Order(), validated.Select(r => r.Source).Distinct().Order());
                Assert.Equal(tested.Where(r => r.Target == 0).Select(r => r.Name), inDomain.Where(r => r.Target == 0).Select(r => r.Name));
                Assert.DoesNotContain(inDomain, r => r.Source == source || trained.Any(t => t.Name == r.Name));
            }
        }
        // Another seed splits the data otherwise: its folds would not be these, so it refuses the folder.
        var reseeded = Cli.Run([.. args, "--seed", "1"]);
        Assert.NotEqual(0, reseeded.ExitCode);
        Assert.Contains("was not split as these options split the data", System.Text.RegularExpressions.Regex.Replace(reseeded.All, @"\s+", " "));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(outDir, CrossValidation.HeatmapFile))[..4]);

        // Run again: every fold is done, so nothing trains and the report is the same.
        string log = Path.Combine(outDir, "splice", "run", "train.log");
        var written = File.GetLastWriteTimeUtc(log);
        var again = Cli.Run(args);
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal(written, File.GetLastWriteTimeUtc(log));
        Assert.DoesNotContain("Epoch: 0", again.Output);

        // With other test-time views each fold is scored again, not retrained, and keeps its training minutes.
        double Minutes(JsonDocument result) => result.RootElement.GetProperty("minutes").GetDouble();
        string splice = Path.Combine(outDir, "splice", CrossValidation.ResultFile);
        double trainedFor;
        using (var before = JsonDocument.Parse(File.ReadAllText(splice)))
        {
            trainedFor = Minutes(before);
            Assert.Equal(1, before.RootElement.GetProperty("tta").GetInt32()); // the recipe's own test views
        }
        var flipped = Cli.Run([.. args, "--tta", "2"]);
        Assert.True(flipped.ExitCode == 0, flipped.All);
        Assert.DoesNotContain("Epoch: 0", flipped.Output);
        using var after = JsonDocument.Parse(File.ReadAllText(splice));
        Assert.Equal(2, after.RootElement.GetProperty("tta").GetInt32());
        Assert.Equal(trainedFor, Minutes(after));

        // Without --tta a recipe's own views count, even where the fold's checkpoint was written with other ones.
        var recipe = new CrossValOptions(_labels, _images, outDir, TrainConfig.DefaultPreset with { TestViews = 3 }, Folds: ["splice"]);
        var rescored = CrossValidation.Run(recipe, _ => throw new InvalidOperationException("a finished fold trained again"));
        Assert.Equal(3, Assert.Single(rescored.Folds).Tta);
        Assert.Equal(trainedFor, rescored.Folds[0].Minutes);

        // A second member trains on the same split with the next seed; the first is not trained again, and the fold
        // is scored by the mean of both models' scores.
        var ensemble = Cli.Run([.. args.Select(a => a == "splice,colour" ? "splice" : a), "--members", "2"]);
        Assert.True(ensemble.ExitCode == 0, ensemble.All);
        Assert.Equal(written, File.GetLastWriteTimeUtc(log));
        string foldDir = Path.Combine(outDir, "splice");
        var members = Enumerable.Range(0, 2).Select(m => Path.Combine(CrossValidation.MemberDir(foldDir, m), Trainer.BestFile)).ToList();
        Assert.Equal([0, 1], members.Select(m => Checkpoint.ReadInfo(m).Config.Seed));
        var test = LabelFile.ReadLabels(Path.Combine(foldDir, "test_label.txt"));
        var mean = Prediction.Mean(members.Select(m =>
        {
            using var detector = Detector.Load(m);
            return Prediction.Run(detector, _images, test.Select(r => r.Name).ToList(), new ScoringOptions(), OnError.Fail);
        }).ToList());
        using var two = JsonDocument.Parse(File.ReadAllText(splice));
        Assert.Equal(2, two.RootElement.GetProperty("members").GetInt32());
        Assert.True(Minutes(two) > trainedFor);
        double expected = BinaryMetrics.Compute(mean.Images.Select(i => i.Score!.Value).ToList(), test.Select(r => r.Target).ToList()).Auc!.Value;
        Assert.Equal(expected, two.RootElement.GetProperty("unseen").GetProperty("auc").GetDouble(), 12);
    }
}
