using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Tests;

public class WeightImportTests
{
    [Fact]
    public void Imported_resnet_matches_onnx_runtime_on_the_same_input()
    {
        var rng = new Random(0);
        // Inputs in the range the weights expect: BGR 0..255 minus channel means.
        float[] input = Enumerable.Range(0, 3 * 224 * 224).Select(_ => (float)(rng.NextDouble() * 255 - 115)).ToArray();

        using var session = new InferenceSession(CntkResNetImport.DefaultPath);
        string inputName = session.InputMetadata.Keys.Single();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, new DenseTensor<float>(input, [1, 3, 224, 224]))]);
        float[] expected = results.Single().AsEnumerable<float>().ToArray();

        using var model = new ResNet(CntkResNetImport.Blocks, 2);
        CntkResNetImport.Load(model);
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        float[] actual = model.Features(tensor(input, [1, 3, 224, 224])).data<float>().ToArray();

        Assert.Equal(512, expected.Length);
        Assert.Equal(512, actual.Length);
        double maxDiff = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff < 1e-4, $"max abs feature difference {maxDiff}");
        Assert.True(expected.Max() > 0.1, "features are not trivially zero");
    }

    [Fact]
    public void Every_registered_backbone_builds_and_gives_two_logits()
    {
        foreach (var spec in Backbones.All)
        {
            using var scope = NewDisposeScope();
            using var model = Backbones.Create(spec.Name, pretrained: false);
            model.eval();
            using var _ = no_grad();
            var logits = model.call(zeros(2, 3, 64, 64));
            Assert.Equal(new long[] { 2, 2 }, logits.shape);
        }
        Assert.Throws<VeracityException>(() => Backbones.Get("vgg"));
    }
}
