using Xunit.Abstractions;
using TorchSharp;
using Microsoft.ML.OnnxRuntime;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Tests;

/// <summary>
/// The numbers themselves, against float64 on whatever CPU this runs on. libtorch's oneDNN picks kernels by CPU,
/// shape and ISA, and one of them (fp32 1×1 convolution, channels-last, on AMD Zen 5) was wrong, so these compare
/// with a float64 computation rather than with figures from another machine. .ci/run repeats this category under
/// each oneDNN ISA cap (ONEDNN_MAX_CPU_ISA=AVX2, AVX512_CORE, AVX512_CORE_BF16, and none).
/// </summary>
[Trait("Category", "Numerics")]
public class NumericsTests(ITestOutputHelper output)
{
    /// <summary>
    /// Float32 features, relative to the float64 ones' largest magnitude. Correct kernels measured 4.4e-7–5.7e-7
    /// (Intel Xeon with AMX, under every ISA cap; Zen 5 with NCHW input: 4.6e-7); ONNX Runtime 3e-7. The Zen 5
    /// fault put them at 3.7e-2.
    /// </summary>
    const double Float32Tolerance = 1e-5;

    /// <summary>BFloat16 trunk: every layer rounds to 8 significant bits (2^-8); measured 4.1e-3–7.0e-3 under every ISA cap.</summary>
    const double BFloat16Tolerance = 2e-2;

    static Tensor CntkInput(long batch, long size) =>
        TorchRandom.Seeded(0, () => rand(batch, 3, size, size) * 255 - 115); // BGR 0..255 minus channel means

    static double RelativeError(Tensor actual, Tensor reference)
    {
        using var scope = NewDisposeScope();
        return (actual.to(ScalarType.Float64) - reference).abs().max().item<double>() / reference.abs().max().item<double>();
    }

    static ResNet Imported()
    {
        var model = new ResNet(CntkResNetImport.Blocks, Backbones.Classes);
        CntkResNetImport.Load(model);
        model.eval();
        return model;
    }

    static Tensor Float64Features(ResNet model, Tensor input)
    {
        using var copy = Imported();
        copy.to(ScalarType.Float64);
        using var _ = no_grad();
        return copy.Features(input.to(ScalarType.Float64));
    }

    [Theory]
    [InlineData(1, 224)]
    [InlineData(4, 224)] // the Zen 5 fault needed batch ≥ 4 for the 512→512 1×1 shape
    [InlineData(4, 256)]
    public void Imported_resnet_in_float32_and_bfloat16_matches_float64(int batch, int size)
    {
        using var scope = NewDisposeScope();
        using var model = Imported();
        var input = CntkInput(batch, size);
        var reference = Float64Features(model, input);
        using var _ = no_grad();
        double float32 = RelativeError(model.Features(input), reference);
        model.BFloat16 = true;
        double bfloat16 = RelativeError(model.Features(input), reference);

        output.WriteLine($"batch {batch}, {size} px: float32 {float32:G3}, bfloat16 {bfloat16:G3} of the float64 features' scale");
        Assert.True(float32 < Float32Tolerance, $"float32 features off by {float32:G3} of their scale; {Describe(ConvolutionCheck.Failures)}");
        Assert.True(bfloat16 < BFloat16Tolerance, $"bfloat16 features off by {bfloat16:G3} of their scale; {Describe(ConvolutionCheck.Failures)}");
        Assert.True(bfloat16 > float32, "the bfloat16 trunk did not run in bfloat16");
    }

    [Fact]
    public void Onnx_runtime_on_the_cntk_graph_matches_the_float64_import()
    {
        using var scope = NewDisposeScope();
        using var model = Imported();
        var input = CntkInput(1, 224);
        var reference = Float64Features(model, input);

        using var session = new InferenceSession(CntkResNetImport.DefaultPath);
        string inputName = session.InputMetadata.Keys.Single();
        float[] pixels = input.data<float>().ToArray();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels, [1, 3, 224, 224]))]);
        var onnx = tensor(results.Single().AsEnumerable<float>().ToArray(), [1, 512]);

        double error = RelativeError(onnx, reference);
        output.WriteLine($"ONNX Runtime: {error:G3} of the float64 features' scale");
        Assert.True(error < Float32Tolerance, $"ONNX Runtime features off by {error:G3} of their scale");
        Assert.True(reference.max().item<double>() > 0.1, "features are not trivially zero");
    }

    [Fact]
    public void Every_convolution_route_chosen_here_passed_its_float64_check()
    {
        using var model = Imported();
        model.train();
        foreach (var type in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var shape in model.ConvShapes(batch: 4, size: 224))
                foreach (bool backward in new[] { false, true })
                {
                    var route = ConvolutionCheck.RouteFor(shape, type, backward);
                    var check = ConvolutionCheck.Measure(shape, route.Type, route.Layout, backward);
                    Assert.True(check.Passed, $"{shape} {type} {(backward ? "backward" : "forward")} on {route}: error {check.Error:G3}");
                }
    }

    [Fact]
    public void A_shape_that_fails_its_check_runs_nchw_and_the_network_stays_right()
    {
        // A shape no other test uses, so the process-wide verdicts of other tests are untouched.
        const int batch = 3, size = 160;
        using var scope = NewDisposeScope();
        using var model = Imported();
        var faulty = model.ConvShapes(batch, size).Where(s => s.Kernel == 1).ToHashSet();
        ConvolutionCheck.SimulatedFault = (shape, type, layout) => faulty.Contains(shape) && layout == ConvLayout.ChannelsLast;
        try
        {
            var input = CntkInput(batch, size);
            var reference = Float64Features(model, input);
            using var _ = no_grad();
            double error = RelativeError(model.Features(input), reference);

            Assert.True(error < Float32Tolerance, $"features off by {error:G3}");
            foreach (var shape in faulty)
                Assert.Equal(new ConvRoute(ConvLayout.Contiguous, ScalarType.Float32), ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
            Assert.Equal(faulty.Count, ConvolutionCheck.Failures.Count(f => faulty.Contains(f.Shape)));
        }
        finally
        {
            ConvolutionCheck.SimulatedFault = null;
        }
    }

    static string Describe(IReadOnlyList<ConvCheck> failures) =>
        failures.Count == 0 ? "no convolution check failed"
        : "checks that failed: " + string.Join("; ", failures.Select(f => $"{f.Shape} {f.Type} {f.Layout} {f.Error:G3}"));
}
