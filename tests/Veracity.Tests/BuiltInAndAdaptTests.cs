using System.Security.Cryptography;
using System.Text.Json;
using Veracity.Checkpoints;
using Veracity.Experiments;
using Veracity.Inference;
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
        var result = Cli.Run("adapt", "--model", tiny.Checkpoint, "--labels", tiny.ValLabels, "--images", tiny.ValImages,
            "--rehearse", tiny.Data.TrainLabels, "--rehearse-images", tiny.Data.TrainImages, "--validation-share", "0.5", "--epochs", "1",
            "--out", dir.File("adapted"));
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
}
