using Onnx;
using Veracity.Checkpoints;
using Veracity.Data;
using Veracity.Inference;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Tests;

public class OnnxWeightsTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    string Export(TempDir dir, string name, params string[] options)
    {
        string path = Path.Combine(dir.Path, name);
        var export = Cli.Run(["export", "--model", tiny.Checkpoint, "--out", path, .. options]);
        Assert.True(export.ExitCode == 0, export.All);
        return path;
    }

    Batch Batch(Detector detector) =>
        new DataLoader(ImageDataset.Labelled(tiny.ValImages, LabelFile.ReadLabels(tiny.ValLabels), detector.Transform),
            new LoaderOptions(BatchSize: 12)).Epoch().First();

    /// <summary>The weights the logits depend on: those of every Conv and Gemm (not the heatmap's).</summary>
    static List<string> TrunkWeights(byte[] onnx) =>
        ModelProto.Parser.ParseFrom(onnx).Graph.Node.Where(n => n.OpType is "Conv" or "Gemm").SelectMany(n => n.Input.Skip(1)).ToList();

    [Fact]
    [Trait("Category", "Numerics")]
    public void Float16_storage_halves_the_file_and_moves_the_probabilities_no_more_than_its_rounding_allows()
    {
        using var dir = new TempDir();
        string fp32 = Export(dir, "fp32.onnx"), fp16 = Export(dir, "fp16.onnx", "--fp16");
        byte[] fullBytes = File.ReadAllBytes(fp32), halfBytes = File.ReadAllBytes(fp16);
        Assert.Equal("float32", OnnxWeights.Read(fullBytes).Storage);
        Assert.Equal("float16", OnnxWeights.Read(halfBytes).Storage);
        // resnet18's 15.9 M weights are nearly all of the file (measured 0.5001); the graph and metadata are a few kB
        double ratio = (double)halfBytes.Length / fullBytes.Length;
        Assert.True(ratio <= 0.55, $"the float16 file is {ratio:P1} of the float32 one");

        using var full = Detector.Load(fp32);
        using var half = Detector.Load(fp16);
        Assert.Equal((full.Engine, full.Info.Threshold, full.Info.ImageSize), (half.Engine, half.Info.Threshold, half.Info.ImageSize));
        using var batch = Batch(full);
        float[] p32 = full.Score(batch.Images, tta: 1), p16 = half.Score(batch.Images, tta: 1);

        using var scope = NewDisposeScope();
        // The Casts run float32 on the rounded weights: the float64 reference of the float16 graph gives its probabilities.
        using (var halfReference = new OnnxReference(halfBytes))
        {
            float[] expected = nn.functional.softmax(halfReference.Run(batch.Images, OnnxExport.OutputName), 1)[.., 1].to(ScalarType.Float32)
                .data<float>().ToArray();
            double maxDiff = expected.Zip(p16).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(maxDiff < 1e-5, $"the float16 model is {maxDiff} from its float64 reference"); // float32 engines: within 1e-7 measured
        }

        // Rounding to float16 moves a weight w by at most 2^-11·|w| (2^-25 below the normal range, 2^-14), so to first
        // order the logit difference z moves by at most Σ |∂z/∂w|·that, and the probability σ(z) by a quarter of it.
        // Worst case, every rounding the same way: measured 2e-5 at most against bounds of 0.012 or more.
        using var reference = new OnnxReference(fullBytes);
        var weights = TrunkWeights(fullBytes).Select(name => reference.Initializer(name).requires_grad_(true)).ToList();
        for (int i = 0; i < p32.Length; i++)
        {
            using var imageScope = NewDisposeScope();
            var logits = reference.Run(batch.Images[TensorIndex.Slice(i, i + 1)], OnnxExport.OutputName);
            var gradients = autograd.grad([logits[0, 1] - logits[0, 0]], weights);
            double bound = weights.Zip(gradients).Sum(p =>
                (p.Second.abs() * (p.First.detach().abs() * Math.Pow(2, -11)).clamp_min(Math.Pow(2, -25))).sum().item<double>()) / 4;
            double moved = Math.Abs(p16[i] - p32[i]);
            Assert.True(moved <= bound + 1e-5, $"image {i}: float16 moved the probability by {moved}, its rounding allows {bound}");
        }
    }

    [Fact]
    [Trait("Category", "Numerics")]
    public void Int8_runs_integer_kernels_within_what_its_rounding_allows_and_records_its_check()
    {
        using var dir = new TempDir();
        string fp32 = Export(dir, "fp32.onnx");
        // The tiny model is barely trained (probabilities 0.47-0.52): its AUC on 12 pictures moves with any noise, so
        // the check is let through here; the demo's figures are in bench/RESULTS.md.
        string int8 = Export(dir, "int8.onnx", "--int8", "--calibration-labels", tiny.Data.TrainLabels, "--calibration-images",
            tiny.Data.TrainImages, "--check-labels", tiny.ValLabels, "--check-images", tiny.ValImages, "--max-auc-change", "1");
        byte[] fullBytes = File.ReadAllBytes(fp32), int8Bytes = File.ReadAllBytes(int8);
        var storage = OnnxWeights.Read(int8Bytes);
        Assert.Equal("int8", storage.Storage);
        Assert.Contains(tiny.Data.TrainLabels, storage.Details);
        Assert.Equal((tiny.ValLabels, 12, 1.0), (storage.Check!.Labels, storage.Check.Pictures, storage.Check.MaxChange));
        Assert.InRange(storage.Check.Float32Auc, 0, 1);
        // one byte a weight (four for the 5,000 or so biases) against four
        Assert.True(int8Bytes.Length <= 0.26 * fullBytes.Length, $"the int8 file is {int8Bytes.Length} bytes against {fullBytes.Length}");

        using var full = Detector.Load(fp32);
        using var quantised = Detector.Load(int8);
        Assert.Equal(Engine.Onnx, quantised.Engine);
        // The calibration pictures: no activation falls outside its calibrated range, so each rounds by half a step at most.
        using var batch = new DataLoader(ImageDataset.Labelled(tiny.Data.TrainImages, LabelFile.ReadLabels(tiny.Data.TrainLabels), full.Transform),
            new LoaderOptions(BatchSize: 12)).Epoch().First();
        float[] p32 = full.Score(batch.Images, tta: 1), p8 = quantised.Score(batch.Images, tta: 1);

        // Each quantised value (activations, weights and biases) rounds to its step (its scale, per channel for weights
        // and biases), an error uniform within ±step/2 and independent of the others, variance step²/12. To first order
        // the logit difference z then has σ² = Σ (∂z/∂x · step)²/12, and the probability moves by at most a quarter of
        // z's change. Six σ gave 0.007-0.010 here against 0.003 measured at most; all rounding errors the same way would
        // allow 0.46-0.81, which says nothing. The steps come from the int8 model, the gradients from the float64
        // reference of float32's graph.
        using var scope = NewDisposeScope();
        var graph8 = ModelProto.Parser.ParseFrom(int8Bytes).Graph;
        using var int8Reference = new OnnxReference(int8Bytes);
        var steps = new Dictionary<string, Tensor>();
        foreach (var node in graph8.Node.Where(n => n.OpType is "QuantizeLinear"))
            steps[node.Input[0]] = int8Reference.Initializer(node.Input[1]);
        foreach (var node in graph8.Node.Where(n => n.OpType is "DequantizeLinear" && n.Input[0].EndsWith(".quantised", StringComparison.Ordinal)))
            steps[node.Output[0]] = int8Reference.Initializer(node.Input[1]);
        using var reference = new OnnxReference(fullBytes);
        var weights = TrunkWeights(fullBytes);
        foreach (string name in weights) reference.Initializer(name).requires_grad_(true);
        reference.Tracked.UnionWith(steps.Keys.Except(weights));
        for (int i = 0; i < p32.Length; i++)
        {
            using var imageScope = NewDisposeScope();
            var logits = reference.Run(batch.Images[TensorIndex.Slice(i, i + 1)], OnnxExport.OutputName, gradients: true);
            var tensors = weights.Select(name => (name, reference.Initializer(name))).Concat(reference.Values.Select(v => (v.Key, v.Value))).ToList();
            var gradients = autograd.grad([logits[0, 1] - logits[0, 0]], tensors.Select(t => t.Item2).ToList());
            double variance = tensors.Zip(gradients).Sum(p =>
            {
                var step = steps[p.First.Item1];
                var perChannel = step.dim() == 0 ? step : step.reshape([step.shape[0], .. Enumerable.Repeat(1L, (int)p.Second.dim() - 1)]);
                return (p.Second * perChannel).square().sum().item<double>() / 12;
            });
            double bound = 6 * Math.Sqrt(variance) / 4;
            double moved = Math.Abs(p8[i] - p32[i]);
            Assert.True(moved <= bound, $"image {i}: int8 moved the probability by {moved}, its rounding allows {bound}");
        }
    }

    /// <summary>
    /// A stem fed by fixed filters (here SRM residuals beside the picture) stays float32: quantised, the built-in
    /// model of 2026-12-07 lost 0.035 AUC on real faces. A picture quantises well, so a stem on the picture alone is quantised.
    /// </summary>
    [Fact]
    public void Int8_keeps_a_stem_that_fixed_filters_feed_in_float32_and_quantises_one_on_the_picture()
    {
        var (info, model) = Checkpoint.Load(tiny.Checkpoint);
        byte[] rgb, srm;
        using (model)
        {
            rgb = OnnxExport.ToBytes(info, model);
            ((ResNet)model).Input = ModelInput.RgbSrm;
            srm = OnnxExport.ToBytes(info, model);
        }
        var rows = LabelFile.ReadLabels(tiny.Data.TrainLabels).Take(8).ToList();
        (int Convs, int Quantised, bool Picture) Summary(byte[] onnx)
        {
            var graph = ModelProto.Parser.ParseFrom(OnnxQuantisation.Quantise(onnx, tiny.Data.TrainImages, rows, "tiny")).Graph;
            var quantisedWeights = graph.Node.Where(n => n.OpType == "DequantizeLinear" && n.Input[0].EndsWith(".quantised", StringComparison.Ordinal))
                .Select(n => n.Output[0]).ToHashSet();
            var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
            return (convs.Count, convs.Count(n => quantisedWeights.Contains(n.Input[1])),
                graph.Node.Any(n => n.OpType == "QuantizeLinear" && n.Input[0] == graph.Input[0].Name));
        }
        var (rgbConvs, rgbQuantised, rgbPicture) = Summary(rgb);
        Assert.Equal((rgbConvs, true), (rgbQuantised, rgbPicture));
        // The SRM filter, the convolution on its residuals and the one on the picture stay float32; every other is int8.
        var (srmConvs, srmQuantised, srmPicture) = Summary(srm);
        Assert.Equal((rgbConvs + 2, rgbConvs - 1, false), (srmConvs, srmQuantised, srmPicture));
    }

    [Fact]
    public void An_int8_model_whose_auc_moves_too_far_is_refused_with_both_figures_and_not_written()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "int8.onnx");
        var export = Cli.Run("export", "--model", tiny.Checkpoint, "--out", path, "--int8", "--calibration-labels", tiny.Data.TrainLabels,
            "--calibration-images", tiny.Data.TrainImages, "--calibration-count", "8", "--max-auc-change", "0");
        Assert.NotEqual(0, export.ExitCode);
        Assert.Matches(@"int8 model is refused: AUC \d\.\d{4} against float32's \d\.\d{4} on 8 pictures", export.Unwrapped);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
