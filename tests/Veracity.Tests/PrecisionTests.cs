using Veracity.Models;
using Veracity.Training;
using static TorchSharp.torch;

namespace Veracity.Tests;

public class PrecisionTests
{
    [Fact]
    public void Bfloat16_trunk_gives_float32_features_close_to_the_float32_ones()
    {
        using var model = (ResNet)Backbones.Create("resnet18");
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        manual_seed(0);
        var input = rand(2, 3, 96, 96) * 255 - 115; // the CNTK weights' input range
        var exact = model.Features(input);
        model.BFloat16 = true;
        var reduced = model.Features(input);

        Assert.Equal(ScalarType.Float32, reduced.dtype);
        double relativeError = (reduced - exact).norm().item<float>() / exact.norm().item<float>();
        Assert.InRange(relativeError, 1e-6, 0.05); // not identical (it did run in bfloat16), yet close
    }

    [Fact]
    public void Auto_resolves_to_float32_for_backbones_without_a_bfloat16_path()
    {
        Assert.Equal(Precision.Float32, Precision.Resolve(Precision.Auto, "mobilenet_v3_small"));
        Assert.Equal(Precision.CpuHasBFloat16 ? Precision.BFloat16 : Precision.Float32, Precision.Resolve(Precision.Auto, "resnet18"));
        Assert.Equal(Precision.Float32, Precision.Resolve(Precision.Float32, "resnet18"));
    }

    [Fact]
    public void Bfloat16_is_refused_for_other_backbones()
    {
        var config = TrainConfig.SeedPreset with { Model = "mobilenet_v3_small", Precision = Precision.BFloat16 };
        var error = Assert.Throws<VeracityException>(config.Validate);
        Assert.Contains("bfloat16", error.Message);
    }
}
