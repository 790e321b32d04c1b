using Veracity.Models;
using Veracity.Training;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Tests;

public class PrecisionTests
{
    [Fact]
    public void Auto_resolves_to_float32_for_backbones_without_a_bfloat16_path()
    {
        Assert.Equal(Precision.Float32, Backbones.Get("mobilenet_v3_small").Resolve(Precision.Auto));
        Assert.Equal(CpuInfo.Current.HasBFloat16 ? Precision.BFloat16 : Precision.Float32, Backbones.Get("resnet18").Resolve(Precision.Auto));
        Assert.Equal(Precision.Float32, Backbones.Get("resnet18").Resolve(Precision.Float32));
    }

    [Fact]
    public void Bfloat16_is_refused_for_other_backbones()
    {
        var config = TrainConfig.SeedPreset with { Model = "mobilenet_v3_small", Precision = Precision.BFloat16 };
        var error = Assert.Throws<InvalidSettingException>(config.Validate);
        Assert.Equal(nameof(TrainConfig.Precision), error.Setting);
        Assert.Contains("bfloat16", error.Message);
    }
}
