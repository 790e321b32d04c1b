using System.Text.Json;
using Veracity.Data;
using Veracity.Inference;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Tests;

/// <summary>A synthetic set and a checkpoint trained on it for one short epoch (32 px), shared by the prediction tests.</summary>
public class TinyModel : IDisposable
{
    public SmallSynthSet Data { get; } = new();
    public string Checkpoint { get; }

    public TinyModel() : this(imageSize: 32) { }

    protected TinyModel(int imageSize)
    {
        var config = TrainConfig.DefaultPreset with { Pretrained = false, ImageSize = imageSize, Epochs = 1, BatchSize = 8, LearningRate = 1e-3 };
        var result = Trainer.Train(config, new TrainData(Data.TrainLabels, Data.TrainImages, null, null, 0.25),
            Path.Combine(Data.Root, "run"), new RecordingObserver());
        Checkpoint = result.BestCheckpoint;
    }

    public string ValImages => Path.Combine(Data.Root, "valset");
    public string ValLabels => Path.Combine(Data.Root, "valset_label.txt");
    public void Dispose() => Data.Dispose();
}

public class PredictionTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    [Fact]
    public void Predict_writes_every_image_in_sorted_order_with_probabilities()
    {
        using var dir = new TempDir();
        string submission = Path.Combine(dir.Path, "submit.csv");
        var result = Cli.Run("predict", "--model", tiny.Checkpoint, "--images", tiny.ValImages, "--tta", "2", "--out", submission);
        Assert.True(result.ExitCode == 0, result.All);

        var rows = LabelFile.ReadPredictions(submission);
        var expected = Directory.GetFiles(tiny.ValImages).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, rows.Select(r => r.Name));
        Assert.All(rows, r => Assert.InRange(r.Score, 0, 1));
        Assert.StartsWith("img_name,y_pred\n", File.ReadAllText(submission));
    }

    [Fact]
    public void Several_models_score_each_image_as_the_mean_of_their_scores()
    {
        using var dir = new TempDir();
        var config = TrainConfig.DefaultPreset with { Pretrained = false, ImageSize = 32, Epochs = 1, BatchSize = 8, LearningRate = 1e-3, Seed = 9 };
        string other = Trainer.Train(config, new TrainData(tiny.Data.TrainLabels, tiny.Data.TrainImages, null, null, 0.25),
            Path.Combine(dir.Path, "other"), new RecordingObserver()).BestCheckpoint;
        IReadOnlyList<double> Scores(string name, params string[] models)
        {
            string submission = Path.Combine(dir.Path, name);
            var run = Cli.Run(["predict", .. models.SelectMany(m => new[] { "--model", m }), "--images", tiny.ValImages, "--out", submission]);
            Assert.True(run.ExitCode == 0, run.All);
            return LabelFile.ReadPredictions(submission).Select(r => r.Score).ToList();
        }
        var one = Scores("one.csv", tiny.Checkpoint);
        var two = Scores("two.csv", other);
        var both = Scores("both.csv", tiny.Checkpoint, other);
        Assert.NotEqual(one, two);
        for (int i = 0; i < one.Count; i++)
            Assert.Equal((one[i] + two[i]) / 2, both[i], 1e-6);

        var evaluate = Cli.Run("evaluate", "--model", tiny.Checkpoint, "--model", other, "--labels", tiny.ValLabels, "--images", tiny.ValImages,
            "--out", dir.Path);
        Assert.True(evaluate.ExitCode == 0, evaluate.All);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "metrics.json")));
        Assert.Equal($"{tiny.Checkpoint} + {other}", metrics.RootElement.GetProperty("model").GetString());

        var single = Cli.Run("score", "--model", tiny.Checkpoint, "--model", other, Directory.GetFiles(tiny.ValImages)[0]);
        Assert.NotEqual(0, single.ExitCode);
        Assert.Contains("--model is taken once here", single.All);
    }

    [Fact]
    public void The_mean_of_several_results_has_no_score_where_any_model_failed()
    {
        var a = new PredictionResult([new ScoredImage("x", 0.2, null), new ScoredImage("y", 0.9, null)], [1]);
        var b = new PredictionResult([new ScoredImage("x", 0.6, null), new ScoredImage("y", null, "unreadable")], [4]);
        var mean = Prediction.Mean([a, b]);
        Assert.Equal([1, 4], mean.Views);
        Assert.Equal(0.4, mean.Images[0].Score!.Value, 1e-12);
        Assert.Equal("unreadable", mean.Images[1].Problem);
        Assert.Null(mean.Images[1].Score);
        Assert.Throws<ArgumentException>(() => Prediction.Mean([a, new PredictionResult([new ScoredImage("y", 0.1, null), a.Images[0]], [1])]));
    }

    [Fact]
    public void Predict_follows_the_list_order_and_handles_unreadable_images_as_asked()
    {
        using var dir = new TempDir();
        var names = Directory.GetFiles(tiny.ValImages).Select(f => Path.GetFileName(f)).Order().Take(3).ToList();
        foreach (string name in names) File.Copy(Path.Combine(tiny.ValImages, name), dir.File("images/" + name));
        File.WriteAllBytes(dir.File("images/zero.jpg"), []);
        string list = dir.File("list.txt", "img_name\n" + string.Join("\n", new[] { names[2], "zero.jpg", names[0], "gone.jpg", names[1] }) + "\n");
        string images = Path.Combine(dir.Path, "images"), submission = Path.Combine(dir.Path, "submit.csv");

        var failed = Cli.Run("predict", "--model", tiny.Checkpoint, "--images", images, "--list", list, "--out", submission);
        Assert.Equal(2, failed.ExitCode);
        Assert.Contains("gone.jpg: file not found", failed.All);
        Assert.False(File.Exists(submission), "no partial submission on failure");

        var skipped = Cli.Run("predict", "--model", tiny.Checkpoint, "--images", images, "--list", list, "--out", submission, "--on-error", "skip");
        Assert.Equal(0, skipped.ExitCode);
        Assert.Contains("2 image(s) could not be read", skipped.Output);
        Assert.Equal([names[2], names[0], names[1]], LabelFile.ReadPredictions(submission).Select(r => r.Name));

        var neutral = Cli.Run("predict", "--model", tiny.Checkpoint, "--images", images, "--list", list, "--out", submission,
            "--on-error", "neutral");
        Assert.Equal(0, neutral.ExitCode);
        var rows = LabelFile.ReadPredictions(submission);
        Assert.Equal([names[2], "zero.jpg", names[0], "gone.jpg", names[1]], rows.Select(r => r.Name));
        Assert.Equal(0.5, rows[1].Score);
        Assert.Equal(0.5, rows[3].Score);
    }

    [Fact]
    public void Evaluate_writes_metrics_plots_and_per_source_figures()
    {
        using var dir = new TempDir();
        var result = Cli.Run("evaluate", "--model", tiny.Checkpoint, "--labels", tiny.ValLabels, "--images", tiny.ValImages,
            "--by-source", "--out", dir.Path);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("ROC AUC", result.Output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "metrics.json")));
        var overall = metrics.RootElement.GetProperty("metrics");
        Assert.Equal(12, overall.GetProperty("count").GetInt32());
        Assert.InRange(overall.GetProperty("auc").GetDouble(), 0, 1);
        var sources = metrics.RootElement.GetProperty("bySource").EnumerateArray().ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, s => Assert.NotEqual("scene", s.GetProperty("source").GetString())); // fake sources only
        Assert.Contains("fake source", result.Output);
        foreach (string png in new[] { "roc.png", "scores.png" })
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(dir.Path, png))[..4]);
    }

    [Fact]
    public void Evaluate_on_one_class_explains_instead_of_printing_nan()
    {
        using var dir = new TempDir();
        var reals = LabelFile.ReadLabels(tiny.ValLabels).Where(r => r.Target == 0).Select(r => (r.Name, r.Target));
        string labels = Path.Combine(dir.Path, "reals.txt");
        CsvFiles.WriteLabels(labels, reals);
        var result = Cli.Run("evaluate", "--model", tiny.Checkpoint, "--labels", labels, "--images", tiny.ValImages, "--out", dir.Path);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("only real images", result.Output);
        Assert.DoesNotContain("NaN", result.Output);
    }

    [Fact]
    public void Score_gives_a_verdict_per_image_and_models_lists_the_registry()
    {
        string image = Directory.GetFiles(tiny.ValImages).Order().First();
        var result = Cli.Run("score", "--model", tiny.Checkpoint, image, "/nonexistent.jpg");
        Assert.Equal(1, result.ExitCode);
        Assert.Matches("(deepfake|real)", result.Output);
        Assert.Contains("cannot score: file not", result.Output);
        Assert.Contains("threshold", result.Output);

        var models = Cli.Run("models");
        Assert.Equal(0, models.ExitCode);
        foreach (string name in new[] { "resnet18", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large" })
            Assert.Contains(name, models.Output);
        Assert.Contains("random initialisation", models.Output);
    }

    [Fact]
    public void A_missing_or_foreign_checkpoint_is_a_clear_error()
    {
        using var dir = new TempDir();
        var missing = Cli.Run("predict", "--model", Path.Combine(dir.Path, "none.ckpt"), "--images", tiny.ValImages,
            "--out", Path.Combine(dir.Path, "s.csv"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("checkpoint not found", missing.All);
        var foreign = Cli.Run("evaluate", "--model", dir.File("x.ckpt", "not a model"), "--labels", tiny.ValLabels, "--images", tiny.ValImages);
        Assert.Equal(2, foreign.ExitCode);
        Assert.Contains("is not a Veracity checkpoint", foreign.All);
        Assert.DoesNotContain("   at ", foreign.All);
    }

    [Fact]
    public void Scoring_takes_up_to_its_distinct_views_and_refuses_more()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        // No symmetry: each flip of these pictures differs from the others.
        var images = TorchSharp.torch.arange(2 * 3 * 4 * 4, dtype: TorchSharp.torch.ScalarType.Float32).view(2, 3, 4, 4);
        var seen = new List<float[]>();
        TorchSharp.torch.Tensor Logits(TorchSharp.torch.Tensor views)
        {
            seen.Add(views.data<float>().ToArray());
            return TorchSharp.torch.zeros(views.shape[0], 2);
        }
        Assert.All(Models.Scoring.FakeProbabilities(Logits, images, Models.Scoring.MaxViews), p => Assert.Equal(0.5f, p));
        Assert.Equal(Models.Scoring.MaxViews, seen.Count);
        for (int i = 0; i < seen.Count; i++)
            for (int j = i + 1; j < seen.Count; j++)
                Assert.False(seen[i].SequenceEqual(seen[j]), $"views {i} and {j} are the same");

        var error = Assert.Throws<VeracityException>(() => Models.Scoring.FakeProbabilities(Logits, images, Models.Scoring.MaxViews + 1));
        Assert.Contains($"{Models.Scoring.MaxViews} distinct views", error.Message);
        Assert.Equal(Models.Scoring.MaxViews, seen.Count); // refused before any view was scored
        Assert.Equal(nameof(TrainConfig.TestViews),
            Assert.Throws<InvalidSettingException>((TrainConfig.DefaultPreset with { TestViews = Models.Scoring.MaxViews + 1 }).Validate).Setting);
    }

    [Fact]
    public void An_onnx_model_without_veracity_metadata_or_with_damaged_metadata_is_a_clear_error_naming_it()
    {
        // The ImageNet ResNet-18 that ships for the self-check: an ONNX model Veracity did not export.
        string foreign = Models.CntkResNetImport.DefaultPath;
        var error = Assert.Throws<VeracityException>(() => Detector.Load(foreign));
        Assert.Equal($"{foreign} was not exported by Veracity (no {OnnxExport.MetadataKey} metadata)", error.Message);

        using var dir = new TempDir();
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(foreign));
        model.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = OnnxExport.MetadataKey, Value = "{\"Backbone\": " });
        string damaged = Path.Combine(dir.Path, "damaged.onnx");
        File.WriteAllBytes(damaged, Google.Protobuf.MessageExtensions.ToByteArray(model));
        error = Assert.Throws<VeracityException>(() => Detector.Load(damaged));
        Assert.StartsWith($"{damaged}: its {OnnxExport.MetadataKey} metadata is damaged", error.Message);
    }
}
