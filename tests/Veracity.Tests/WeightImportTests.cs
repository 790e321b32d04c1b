using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Tests;

public class WeightImportTests
{
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
