using TorchSharp;
using static TorchSharp.torch;

namespace Veracity.Models;

/// <summary>One whole-network comparison: resnet18's features in a type against float64.</summary>
public sealed record NetworkCheck(ScalarType Type, long Batch, long Size, double Error, double Tolerance)
{
    public bool Passed => Error < Tolerance;
}

/// <summary>
/// The imported resnet18 run end to end in float32 and bfloat16 on this CPU, against the same network in
/// float64: what <c>veracity doctor</c> reports, and what the numerics tests assert.
/// </summary>
public static class SelfCheck
{
    /// <summary>
    /// Float32 features, relative to the float64 ones' largest magnitude. Correct kernels measured 4.4e-7–5.7e-7
    /// (Intel Xeon with AMX, under every oneDNN ISA cap; Zen 5 with NCHW input: 4.6e-7); ONNX Runtime 3e-7. The
    /// Zen 5 fault put them at 3.7e-2.
    /// </summary>
    public const double Float32Tolerance = 1e-5;

    /// <summary>BFloat16 trunk: every layer rounds to 8 significant bits (2^-8); measured 4.1e-3–7.0e-3 under every ISA cap.</summary>
    public const double BFloat16Tolerance = 2e-2;

    /// <summary>Input in the range the CNTK weights expect (BGR 0..255 minus channel means), from a generator of its own.</summary>
    public static Tensor CntkInput(long batch, long size)
    {
        using var generator = new Generator(0);
        using var unit = rand([batch, 3, size, size], generator: generator);
        using var scale = 255.0.ToScalar();
        using var offset = (-115.0).ToScalar();
        return unit.mul(scale).add_(offset, Scalars.One);
    }

    /// <summary>resnet18 with the ImageNet weights, in eval mode.</summary>
    public static ResNet Imported()
    {
        var model = new ResNet(CntkResNetImport.Blocks, Backbones.Classes);
        CntkResNetImport.Load(model);
        model.eval();
        return model;
    }

    /// <summary>The features of <paramref name="input"/> with every layer in float64.</summary>
    public static Tensor Float64Features(Tensor input)
    {
        using var model = Imported();
        model.to(ScalarType.Float64);
        using var _ = no_grad();
        using var input64 = input.to(ScalarType.Float64);
        return model.Features(input64);
    }

    /// <summary>Float32 and bfloat16 features of one random batch against float64.</summary>
    public static IReadOnlyList<NetworkCheck> Network(long batch, long size)
    {
        using var scope = NewDisposeScope();
        using var model = Imported();
        var input = CntkInput(batch, size);
        var reference = Float64Features(input);
        using var _ = no_grad();
        double float32 = ConvolutionCheck.RelativeError(model.Features(input), reference);
        model.BFloat16 = true;
        double bfloat16 = ConvolutionCheck.RelativeError(model.Features(input), reference);
        return [new(ScalarType.Float32, batch, size, float32, Float32Tolerance), new(ScalarType.BFloat16, batch, size, bfloat16, BFloat16Tolerance)];
    }
}
