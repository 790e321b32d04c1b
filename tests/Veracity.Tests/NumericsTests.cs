using TorchSharp;
using Xunit.Abstractions;
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
    [Theory]
    [InlineData(1, 224)]
    [InlineData(4, 224)] // the Zen 5 fault needed batch ≥ 4 for the 512→512 1×1 shape
    [InlineData(4, 256)]
    public void Imported_resnet_in_float32_and_bfloat16_matches_float64(int batch, int size)
    {
        var checks = SelfCheck.Network(batch, size);
        foreach (var check in checks)
        {
            output.WriteLine($"batch {batch}, {size} px, {check.Type}: {check.Error:G3} of the float64 features' scale");
            Assert.True(check.Passed, $"{check.Type} features off by {check.Error:G3} of their scale; {Describe(ConvolutionCheck.Failures)}");
        }
        Assert.True(checks[1].Error > checks[0].Error, "the bfloat16 trunk did not run in bfloat16");
    }

    [Fact]
    public void Onnx_runtime_on_the_cntk_graph_matches_the_float64_import()
    {
        using var scope = NewDisposeScope();
        var input = SelfCheck.CntkInput(1, 224);
        var reference = SelfCheck.Float64Features(input);

        using var session = new InferenceSession(CntkResNetImport.DefaultPath);
        string inputName = session.InputMetadata.Keys.Single();
        float[] pixels = input.data<float>().ToArray();
        using var results = session.Run(
            [NamedOnnxValue.CreateFromTensor(inputName, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels, [1, 3, 224, 224]))]);
        var onnx = tensor(results.Single().AsEnumerable<float>().ToArray(), [1, 512]);

        double error = ConvolutionCheck.RelativeError(onnx, reference);
        output.WriteLine($"ONNX Runtime: {error:G3} of the float64 features' scale");
        Assert.True(error < SelfCheck.Float32Tolerance, $"ONNX Runtime features off by {error:G3} of their scale");
        Assert.True(reference.max().item<double>() > 0.1, "features are not trivially zero");
    }

    /// <remarks>
    /// The network's own path (<see cref="BasicBlock.Convolve"/>, on the route chosen here) on data of a generator
    /// other than the checks' own, against the same convolution computed here in float64, within the tolerance of
    /// the type the network asked for: re-measuring the route with the checks' own data could not fail.
    /// </remarks>
    [Fact]
    public void Every_convolution_route_chosen_here_matches_float64_on_data_it_was_not_chosen_on()
    {
        using var model = SelfCheck.Imported();
        using var generator = new Generator(7);
        foreach (var type in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var shape in model.ConvShapes(batch: 4, size: 224))
                foreach (bool backward in new[] { false, true })
                {
                    double error = RoutedError(shape, type, backward, generator);
                    var route = ConvolutionCheck.RouteFor(shape, type, backward);
                    Assert.True(error <= ConvolutionCheck.Tolerance(type, backward),
                        $"{shape} {type} {(backward ? "backward" : "forward")} on {route}: error {error:G3}");
                }
    }

    /// <summary>
    /// How far the network's convolution of <paramref name="shape"/> lands from float64 on fresh data: its output
    /// and, with <paramref name="backward"/>, its input and weight gradients, relative to the reference's largest
    /// magnitude. The reference sees the same rounded input and weights.
    /// </summary>
    static double RoutedError(ConvShape shape, ScalarType type, bool backward, Generator generator)
    {
        using var scope = NewDisposeScope();
        // Built under the global generator's lock, although its weights are overwritten below: a module draws its
        // initial weights from that generator, and a draw here in the middle of a parallel test's seeded build gave
        // that test other starting weights (a resumed run 0.13 from its uninterrupted twin, 1 full CI run in 5).
        using var conv = TorchRandom.Seeded(0, () => nn.Conv2d(shape.InChannels, shape.OutChannels, shape.Kernel, stride: shape.Stride,
            padding: shape.Padding, bias: false));
        using (no_grad())
        using (var fanIn = Math.Sqrt(shape.InChannels * shape.Kernel * shape.Kernel).ToScalar())
            conv.weight!.copy_(randn(conv.weight.shape, generator: generator).div_(fanIn));
        // As the network hands it over: in the compute type, channels-last.
        var x = ConvolutionCheck.Layout(randn([shape.Batch, shape.InChannels, shape.Height, shape.Width], generator: generator).to(type),
            ConvLayout.ChannelsLast).detach().requires_grad_(backward);
        using var gradients = backward ? null : no_grad();
        var y = BasicBlock.Convolve(conv, x);

        var xRef = x.detach().to(ScalarType.Float64).requires_grad_(backward);
        var wRef = conv.weight!.detach().to(type).to(ScalarType.Float64).requires_grad_(backward);
        long[] stride = [shape.Stride, shape.Stride], padding = [shape.Padding, shape.Padding];
        var yRef = nn.functional.conv2d(xRef, wRef, null, stride, padding);
        double error = ConvolutionCheck.RelativeError(y, yRef);
        if (!backward) return error;
        var upstream = randn(y.shape, generator: generator).to(type);
        y.backward([upstream]);
        yRef.backward([upstream.to(ScalarType.Float64)]);
        return Math.Max(error, Math.Max(ConvolutionCheck.RelativeError(x.grad!, xRef.grad!), ConvolutionCheck.RelativeError(conv.weight.grad!, wRef.grad!)));
    }

    [Fact]
    public void A_shape_that_fails_its_check_runs_nchw_and_the_network_stays_right()
    {
        const int batch = 3, size = 160;
        using var scope = NewDisposeScope();
        using var model = SelfCheck.Imported();
        var faulty = model.ConvShapes(batch, size).Where(s => s.Kernel == 1).ToHashSet();
        using var simulated = ConvolutionCheck.SimulateFaults((shape, type, layout) => faulty.Contains(shape) && layout == ConvLayout.ChannelsLast);
        var input = SelfCheck.CntkInput(batch, size);
        var reference = SelfCheck.Float64Features(input);
        using var _ = no_grad();
        double error = ConvolutionCheck.RelativeError(model.Features(input), reference);

        Assert.True(error < SelfCheck.Float32Tolerance, $"features off by {error:G3}");
        foreach (var shape in faulty)
            Assert.Equal(new ConvRoute(ConvLayout.Contiguous, ScalarType.Float32),
                ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
        Assert.Equal(faulty, ConvolutionCheck.Failures.Select(f => f.Shape).ToHashSet());
    }

    [Fact]
    public async Task A_simulated_fault_is_seen_only_inside_its_scope()
    {
        var shape = new ConvShape(1, 8, 8, 1, 1, 0, 8, 8);
        var before = ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false);
        using (ConvolutionCheck.SimulateFaults((_, _, _) => true))
        {
            // Both float32 layouts fail in the scope, so the shape runs in float64 there.
            Assert.Equal(new ConvRoute(ConvLayout.Contiguous, ScalarType.Float64), ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
            Assert.False(ConvolutionCheck.Measure(shape, ScalarType.Float32, ConvLayout.Contiguous, backward: false).Passed);
            // A test running beside this one (a flow of control that did not start in the scope) checks without the fault.
            Task<ConvCheck> beside;
            using (ExecutionContext.SuppressFlow())
                beside = Task.Run(() => ConvolutionCheck.Measure(shape, ScalarType.Float32, ConvLayout.Contiguous, backward: false));
            var check = await beside;
            Assert.True(check.Passed, check.ToString());
        }
        Assert.Equal(before, ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
        Assert.DoesNotContain(ConvolutionCheck.Failures, f => f.Shape == shape);
    }

    [Fact]
    public void A_check_that_throws_is_not_remembered_and_the_next_call_chooses_again()
    {
        var shape = new ConvShape(1, 8, 8, 1, 1, 0, 8, 8);
        int calls = 0;
        // The first check runs out of memory (as a float64 reference of a large shape can); the later ones find the fault.
        using var simulated = ConvolutionCheck.SimulateFaults((_, _, layout) =>
            Interlocked.Increment(ref calls) == 1 ? throw new InsufficientMemoryException("simulated") : layout == ConvLayout.ChannelsLast);

        Assert.Throws<InsufficientMemoryException>(() => ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
        Assert.Equal(new ConvRoute(ConvLayout.Contiguous, ScalarType.Float32), ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
        Assert.Equal(3, calls); // the failed choice, then channels-last and NCHW once each
        Assert.Equal(new ConvRoute(ConvLayout.Contiguous, ScalarType.Float32), ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
        Assert.Equal(3, calls); // a choice that finished is kept
        Assert.Single(ConvolutionCheck.Failures); // the check that threw logged nothing
    }

    [Fact]
    public void A_route_is_kept_in_the_machines_cache_and_a_later_process_takes_it_without_checking_again()
    {
        using var dir = new TempDir();
        var shape = new ConvShape(1, 8, 8, 1, 1, 0, 8, 8);
        ConvRoute Route() => ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false);
        var fast = new ConvRoute(ConvLayout.ChannelsLast, ScalarType.Float32);
        using (ConvolutionCheck.SimulateFaults((_, _, _) => false, new MachineCache(dir.Path, "this machine")))
            Assert.Equal(fast, Route());
        // Checked again, channels-last would fail now: the kept verdict is taken instead.
        using (ConvolutionCheck.SimulateFaults((_, _, layout) => layout == ConvLayout.ChannelsLast, new MachineCache(dir.Path, "this machine")))
            Assert.Equal(fast, Route());
        // Another CPU, oneDNN cap, library version or thread count is another key, and is checked afresh.
        using (ConvolutionCheck.SimulateFaults((_, _, layout) => layout == ConvLayout.ChannelsLast, new MachineCache(dir.Path, "another machine")))
            Assert.Equal(new ConvRoute(ConvLayout.Contiguous, ScalarType.Float32), Route());
    }

    [Fact]
    public void A_fallback_found_by_an_earlier_process_is_still_reported()
    {
        using var dir = new TempDir();
        var shape = new ConvShape(1, 8, 8, 1, 1, 0, 8, 8);
        using (ConvolutionCheck.SimulateFaults((_, _, layout) => layout == ConvLayout.ChannelsLast, new MachineCache(dir.Path, "this machine")))
            ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false);
        using (ConvolutionCheck.SimulateFaults((_, _, _) => false, new MachineCache(dir.Path, "this machine")))
        {
            Assert.Equal(new ConvRoute(ConvLayout.Contiguous, ScalarType.Float32), ConvolutionCheck.RouteFor(shape, ScalarType.Float32, backward: false));
            Assert.Equal(shape, Assert.Single(ConvolutionCheck.NewFailures()).Shape);
        }
    }

    static string Describe(IReadOnlyList<ConvCheck> failures) =>
        failures.Count == 0 ? "no convolution check failed"
        : "checks that failed: " + string.Join("; ", failures.Select(f => $"{f.Shape} {f.Type} {f.Layout} {f.Error:G3}"));
}
