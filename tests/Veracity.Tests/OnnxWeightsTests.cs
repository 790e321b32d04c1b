using Onnx;
using Veracity.Data;
using Veracity.Inference;
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
}
