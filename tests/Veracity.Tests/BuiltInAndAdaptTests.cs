using System.Security.Cryptography;
using System.Text.Json;
using Veracity.Checkpoints;
using Veracity.Experiments;
using Veracity.Inference;
using Veracity.Training;
using static TorchSharp.torch;

namespace Veracity.Tests;

/// <summary>The shipped detector's file (half-precision weights, checked by sha256) and <c>adapt</c>.</summary>
public class BuiltInAndAdaptTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    [Fact]
    public void A_compact_copy_holds_each_weight_as_its_channels_int8_step_and_the_rest_exactly()
    {
        using var dir = new TempDir();
        string compact = dir.File("builtin.ckpt");
        Checkpoint.CompactCopy(tiny.Checkpoint, compact);
        Assert.True(Checkpoint.ReadInfo(compact).CompactWeights);
        // best.ckpt holds float32 weights: one byte a weight instead of four, a scale per channel and a little description besides.
        Assert.InRange(new FileInfo(compact).Length, 0.2 * new FileInfo(tiny.Checkpoint).Length, 0.3 * new FileInfo(tiny.Checkpoint).Length);
        var (_, original) = Checkpoint.Load(tiny.Checkpoint);
        var (_, loaded) = Checkpoint.Load(compact);
        using (original)
        using (loaded)
        {
            using var scope = NewDisposeScope();
            var expected = original.state_dict();
            foreach (var (name, value) in loaded.state_dict())
            {
                var original64 = expected[name].to(ScalarType.Float64);
                Tensor want = expected[name];
                if (expected[name].is_floating_point() && expected[name].dim() >= 2)
                {
                    // The float64 reference: each output channel's step is its largest magnitude over 127, stored as
                    // float32; a weight is its step count times that (exact in float64: 7 bits times 24).
                    var flat = original64.reshape(original64.shape[0], -1);
                    var step = flat.abs().amax([1]).div(127.0).unsqueeze(1);
                    var stored = step.to(ScalarType.Float32).to(ScalarType.Float64);
                    want = flat.div(step).round().mul(stored).reshape(original64.shape).to(ScalarType.Float32);
                    // Half a step, and 127 × the step's float32 rounding (2^-24 of it) besides.
                    Assert.True(original64.sub(want.to(ScalarType.Float64)).abs().reshape(original64.shape[0], -1)
                        .le(step.mul(0.5 + 1e-5)).all().item<bool>(), $"{name} moved by more than half a step");
                }
                Assert.Equal(want.dtype, value.dtype);
                Assert.True(want.eq(value).all().item<bool>(), $"{name} is not its stored value");
            }
        }
    }

    static string Manifest(TempDir dir, string file, string sha256)
    {
        string path = dir.File(BuiltInModel.ManifestFile);
        File.WriteAllText(path, JsonSerializer.Serialize(new { file, sha256, trained_on = "the test set", not_reliable_on = "anything else", recipe = "tiny" }));
        return dir.Path;
    }

    [Fact]
    public void The_built_in_model_loads_only_with_the_sha256_its_manifest_gives()
    {
        using var dir = new TempDir();
        string model = dir.File("builtin.ckpt");
        Checkpoint.CompactCopy(tiny.Checkpoint, model);
        string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(model)));

        var good = BuiltInModel.Read(Manifest(dir, "builtin.ckpt", sha));
        Assert.Equal("trained on the test set; not reliable on anything else", good.Caveat);

        var swapped = BuiltInModel.Read(Manifest(dir, "builtin.ckpt", new string('0', 64)));
        var e = Assert.Throws<VeracityException>(() => swapped.Verified());
        Assert.Contains(sha, e.Message);
        Assert.Contains(new string('0', 64), e.Message);

        using var empty = new TempDir();
        Assert.Contains("pass --model", Assert.Throws<VeracityException>(() => BuiltInModel.Read(empty.Path)).Message);
    }

    [Fact]
    public void Adapt_refuses_too_few_examples_to_validate_on()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("new.csv"), ["img_name,target", "a.jpg,1", "b.jpg,1", "c.jpg,1", "d.jpg,1"]);
        var e = Assert.Throws<VeracityException>(() => Adaptation.Plan(new AdaptOptions(tiny.Checkpoint, dir.File("new.csv"), dir.Path,
            dir.File("out"), tiny.Data.TrainLabels, tiny.Data.TrainImages)));
        Assert.Contains("too few examples to validate on", e.Message);
        Assert.Contains("at least 10", e.Message);
    }

    [Fact]
    public void Adapt_fine_tunes_on_the_new_examples_with_rehearsal_and_reports_both_kinds_before_and_after()
    {
        using var dir = new TempDir();
        var result = AdaptTiny(epochs: 1, dir.File("adapted"));
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("AUC before", result.Unwrapped);
        Assert.True(File.Exists(Path.Combine(dir.Path, "adapted", "run", "best.ckpt")));
        var info = Checkpoint.ReadInfo(Path.Combine(dir.Path, "adapted", "run", "best.ckpt"));
        Assert.StartsWith("fine-tuned from", info.InitialWeights);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapted", "adapt.json")));
        Assert.InRange(report.RootElement.GetProperty("after").GetProperty("newKindAuc").GetDouble(), 0, 1);
        var trainRows = File.ReadAllLines(Path.Combine(dir.Path, "adapted", "data", "train.csv"));
        Assert.Contains(trainRows, r => r.StartsWith("rehearse/"));
        Assert.Contains(trainRows, r => r.StartsWith("new/"));
    }

    /// <summary>`adapt` of the tiny model on its validation pictures, rehearsing on its training set, half kept to validate on.</summary>
    Cli.Result AdaptTiny(int epochs, string outDir) =>
        Cli.Run("adapt", "--model", tiny.Checkpoint, "--labels", tiny.ValLabels, "--images", tiny.ValImages, "--rehearse", tiny.Data.TrainLabels,
            "--rehearse-images", tiny.Data.TrainImages, "--validation-share", "0.5", "--epochs", $"{epochs}", "--out", outDir);

    /// <summary>
    /// A detector that knows one forgery (colour drained to grey) adapted on examples of another it never saw (heavy
    /// noise, which it scores as it scores reals): the new kind's AUC on the adaptation's validation part rises, and
    /// the old kind's stays within a bound. Both forgeries are painted here because a network trained from scratch at
    /// 32 px for a few epochs learns them, where it learns none of <c>synth</c>'s (AUC 0.40–0.59 after 3 epochs).
    /// </summary>
    [Fact]
    public void Adapting_teaches_a_new_kind_and_keeps_the_old_one()
    {
        using var dir = new TempDir();
        string oldLabels = Painted(dir.File("old"), 120, "grey", seed: 1), newLabels = Painted(dir.File("new"), 60, "noise", seed: 2);
        var config = TrainConfig.DefaultPreset with
        {
            Pretrained = false, ImageSize = 32, Epochs = 3, BatchSize = 8, LearningRate = 1e-3, JpegProbability = 0, BlurProbability = 0, ColorJitter = 0,
        };
        var trained = Trainer.Train(config, new TrainData(oldLabels, dir.File("old"), null, null, 0.25), dir.File("base"), new RecordingObserver());

        var result = Cli.Run("adapt", "--model", trained.BestCheckpoint, "--labels", newLabels, "--images", dir.File("new"),
            "--validation-share", "0.5", "--lr", "1e-3", "--out", dir.File("adapted"));
        Assert.True(result.ExitCode == 0, result.All);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("adapted"), Adaptation.ReportFile)));
        double NewKind(string when) => report.RootElement.GetProperty(when).GetProperty("newKindAuc").GetDouble();
        double OldKind(string when) => report.RootElement.GetProperty(when).GetProperty("oldKinds")[0].GetProperty("vsAllReals").GetProperty("auc").GetDouble();
        Assert.True(NewKind("after") > NewKind("before") + 0.2, $"new kind: {NewKind("before"):F3} before, {NewKind("after"):F3} after");
        Assert.True(OldKind("after") > OldKind("before") - 0.05, $"old kind: {OldKind("before"):F3} before, {OldKind("after"):F3} after");
    }

    /// <summary>
    /// Writes <paramref name="count"/> 32-px PNGs into <paramref name="folder"/>, half real (a random colour gradient
    /// with a rectangle) and half <paramref name="kind"/> fakes of the same making, and their label file beside it.
    /// </summary>
    static string Painted(string folder, int count, string kind, int seed)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var rows = new List<string> { "img_name,target,source" };
        for (int i = 0; i < count; i++)
        {
            bool fake = i % 2 == 1;
            var image = new Imaging.RgbImage(32, 32);
            var (from, to) = (Enumerable.Range(0, 3).Select(_ => random.Next(256)).ToArray(), Enumerable.Range(0, 3).Select(_ => random.Next(256)).ToArray());
            int x0 = random.Next(20), y0 = random.Next(20);
            for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
            {
                bool inside = x >= x0 && x < x0 + 12 && y >= y0 && y < y0 + 12;
                var rgb = Enumerable.Range(0, 3).Select(c => inside ? 255 - from[c] : from[c] + (to[c] - from[c]) * (x + y) / 62.0).ToArray();
                if (fake && kind == "grey") Array.Fill(rgb, rgb.Average());
                for (int c = 0; c < 3; c++)
                    image.Pixels[(y * 32 + x) * 3 + c] = (byte)Math.Clamp(rgb[c] + (fake && kind == "noise" ? random.NextDouble() * 120 - 60 : 0), 0, 255);
            }
            string name = $"{kind}-{i:D3}.png";
            File.WriteAllBytes(Path.Combine(folder, name), Imaging.SkiaPixels.EncodePng(image));
            rows.Add($"{name},{(fake ? 1 : 0)},{(fake ? kind : "painted")}");
        }
        string labels = folder + ".csv";
        File.WriteAllLines(labels, rows);
        return labels;
    }

    /// <summary>
    /// An adaptation stopped after two batches (its request recorded, its data planned, as `adapt` does first) and
    /// continued with `adapt --resume OUT` ends with the weights of one run straight through, and reports.
    /// </summary>
    [Fact]
    public void A_stopped_adaptation_resumes_to_the_model_an_uninterrupted_one_gives()
    {
        using var dir = new TempDir();
        var straight = AdaptTiny(epochs: 2, dir.File("straight"));
        Assert.True(straight.ExitCode == 0, straight.All);

        var options = Adaptation.Record(new AdaptOptions(tiny.Checkpoint, tiny.ValLabels, tiny.ValImages, dir.File("stopped"), tiny.Data.TrainLabels,
            tiny.Data.TrainImages, ValidationShare: 0.5, Epochs: 2));
        var plan = Adaptation.Plan(options);
        using var stop = new CancellationTokenSource();
        var first = Trainer.Train(Adaptation.ConfigFor(Checkpoint.ReadInfo(tiny.Checkpoint), options), plan.Training,
            Path.Combine(options.OutDir, "run"), new RecordingObserver(stop, stopAfterBatch: 2), stop.Token);
        Assert.Equal(TrainOutcome.Interrupted, first.Outcome);

        Assert.Equal(2, Cli.Run("adapt", "--resume", options.OutDir, "--epochs", "3").ExitCode);
        var resumed = Cli.Run("adapt", "--resume", options.OutDir);
        Assert.True(resumed.ExitCode == 0, resumed.All);
        Assert.True(File.Exists(Path.Combine(options.OutDir, Adaptation.ReportFile)));
        float[] a = TrainingTests.Weights(Path.Combine(dir.File("straight"), "run", "best.ckpt")), b = TrainingTests.Weights(Path.Combine(options.OutDir, "run", "best.ckpt"));
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) < 1e-4);
        var again = Cli.Run("adapt", "--resume", options.OutDir);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("finished already", again.All);
    }
}
