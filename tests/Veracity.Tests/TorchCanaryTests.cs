using static TorchSharp.torch;

namespace Veracity.Tests;

/// <summary>Fails loudly when libtorch or TorchSharp's native bridge cannot be loaded (see Directory.Build.targets).</summary>
public class TorchCanaryTests
{
    [Fact]
    public void Creates_a_tensor_and_runs_a_convolution()
    {
        using var scope = NewDisposeScope();
        var input = ones(1, 1, 4, 4);
        var weight = full(new long[] { 2, 1, 3, 3 }, 0.5f);
        var output = nn.functional.conv2d(input, weight, padding: new long[] { 1, 1 });

        Assert.Equal(new long[] { 1, 2, 4, 4 }, output.shape);
        // A corner sees a 2×2 patch of ones, the centre a full 3×3 patch.
        Assert.Equal(2.0f, output[0, 0, 0, 0].item<float>(), 5);
        Assert.Equal(4.5f, output[0, 1, 1, 1].item<float>(), 5);
    }

    /// <summary>libtorch's NNPACK switch is reached by its C++ name: a libtorch without it fails here, not silently.</summary>
    [Fact]
    public void Switches_NNPACK_off()
    {
        Assert.True(Models.Nnpack.Disable(), "libtorch's at::Context::setUserEnabledNNPACK was not found or did not take");
    }
}
