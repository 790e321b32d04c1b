using TorchSharp;
using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace Veracity.Models;

/// <summary>The memory layout a convolution's input is handed to libtorch in.</summary>
public enum ConvLayout
{
    /// <summary>NHWC in memory: oneDNN's fast path (about 30% more images/s on the machines measured).</summary>
    ChannelsLast,
    /// <summary>Plain NCHW: slower, and computed by other oneDNN kernels.</summary>
    Contiguous,
}

/// <summary>One convolution as libtorch sees it: batch, channels, kernel, stride, padding and input size.</summary>
public sealed record ConvShape(long Batch, long InChannels, long OutChannels, long Kernel, long Stride, long Padding, long Height, long Width)
{
    /// <summary>What <paramref name="conv"/> meets on a batch of <paramref name="batch"/> inputs of
    /// <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static ConvShape Of(TorchSharp.Modules.Conv2d conv, long batch, long height, long width)
    {
        var w = conv.weight!.shape;
        return new ConvShape(batch, w[1], w[0], w[2], conv.stride[0], conv.padding![0], height, width);
    }

    /// <summary>The output's height (and width, for square inputs).</summary>
    [System.Text.Json.Serialization.JsonIgnore] public long OutputHeight => (Height + 2 * Padding - Kernel) / Stride + 1;

    public override string ToString() =>
        $"{InChannels}->{OutChannels} {Kernel}x{Kernel}/{Stride} on {Batch}x{Height}x{Width}";
}

/// <summary>
/// How far one (shape, type, layout) convolution landed from float64: <see cref="Error"/> is the largest difference
/// relative to the reference's largest magnitude, over the output and (with <see cref="Backward"/>) both gradients.
/// </summary>
public sealed record ConvCheck(ConvShape Shape, ScalarType Type, ConvLayout Layout, bool Backward, double Error)
{
    public double Tolerance => ConvolutionCheck.Tolerance(Type, Backward);
    public bool Passed => Error <= Tolerance;

    public override string ToString() =>
        $"{Shape} in {Type}, {Layout}{(Backward ? ", with gradients" : "")}: {(Passed ? "right" : "WRONG on this CPU")} " +
        $"(error {Error:G3} of scale, allowed {Tolerance:G2})";
}

/// <summary>
/// Checks libtorch's convolutions against float64 on the CPU they run on, once per shape, and says which layout
/// computes each shape correctly.
/// </summary>
/// <remarks>
/// Why: on AMD EPYC family 26 (Zen 5) the oneDNN that libtorch 2.10 ships computes some float32 1×1 convolutions on
/// channels-last input wrongly (its brgemm 1×1 kernel with a 48-wide output-channel blocking): ResNet-18's layer4
/// downsample was off by 1.7–2.2 on outputs of about 4, so the features were off by 0.35. Which kernel oneDNN
/// picks depends on the CPU, the shape (batch size included), the thread count and the type, so no list of bad
/// CPUs or shapes can be trusted. Each shape is checked the first time it runs, on random data of exactly that
/// shape, against the same convolution in float64; a shape that fails channels-last runs NCHW (then float32, then
/// float64), so only the faulty shapes lose speed. The verdict is kept for the process and in the machine's cache
/// (<see cref="MachineCache"/>, keyed by CPU, oneDNN cap, library versions and threads; a check that throws is not
/// kept): one check per shape per machine, about a forward pass's worth of float64 work in all.
/// </remarks>
public static class ConvolutionCheck
{
    sealed record Key(ConvShape Shape, ScalarType Type, bool Backward, int Threads);

    /// <summary>A route as the machine's cache keeps it, with the checks that chose it.</summary>
    sealed record CachedRoute(ConvShape Shape, ScalarType Type, bool Backward, int Threads, ConvRoute Route, ConvCheck[] Checks)
    {
        [System.Text.Json.Serialization.JsonIgnore] public Key Key => new(Shape, Type, Backward, Threads);
    }

    const string CacheSection = "convolution-routes";

    /// <summary>
    /// What the checks found: the route of each shape, every check run (in order) and how many failures were
    /// reported; with a <paramref name="cache"/>, the routes earlier processes chose on this machine too.
    /// </summary>
    sealed class Verdicts(Func<ConvShape, ScalarType, ConvLayout, bool>? fault, MachineCache? cache = null)
    {
        public ConcurrentDictionary<Key, Lazy<ConvRoute>> Routes { get; } = new();
        public ConcurrentQueue<ConvCheck> Log { get; } = new();
        public Func<ConvShape, ScalarType, ConvLayout, bool>? Fault { get; } = fault;
        public Lock Reporting { get; } = new();
        public int Reported { get; set; }
        public MachineCache? Cache { get; } = cache;
        public ConcurrentDictionary<Key, CachedRoute> Kept { get; } = new(
            (cache?.Read<CachedRoute[]>(CacheSection) ?? []).Select(r => KeyValuePair.Create(r.Key, r)));
    }

    static readonly Lazy<Verdicts> Process = new(() => new(fault: null, MachineCache.Current));
    static readonly AsyncLocal<Verdicts?> Simulated = new();
    static Verdicts Current => Simulated.Value ?? Process.Value;

    /// <summary>
    /// Test seam: until the returned scope is disposed, checks made on this flow of control (the calling thread and
    /// the tasks it starts) see a wrong result where <paramref name="fault"/> says, so the fallback can be exercised
    /// on CPUs whose kernels are all right. The scope keeps verdicts of its own (in <paramref name="cache"/> if given,
    /// else nowhere), so tests running beside each other see neither each other's faults nor the routes those chose.
    /// Never used outside tests.
    /// </summary>
    internal static IDisposable SimulateFaults(Func<ConvShape, ScalarType, ConvLayout, bool> fault, MachineCache? cache = null)
    {
        var scope = new Scope(Simulated.Value);
        Simulated.Value = new Verdicts(fault, cache);
        return scope;
    }

    sealed class Scope(Verdicts? outer) : IDisposable
    {
        public void Dispose() => Simulated.Value = outer;
    }

    /// <summary>
    /// The checks behind the routes this process took that failed (run here or by an earlier process on this machine),
    /// in order: shapes that run on a slower, correct path instead of the fast one.
    /// </summary>
    public static IReadOnlyList<ConvCheck> Failures => Current.Log.Where(c => !c.Passed).ToArray();

    /// <summary>
    /// The <see cref="Failures"/> that no earlier call returned, for a caller to report: each fallback is said once
    /// however many runs the process makes (crossval trains a model per fold, on the same verdicts).
    /// </summary>
    public static IReadOnlyList<ConvCheck> NewFailures()
    {
        // A process that checked no convolution (it scored on ONNX Runtime) has none, and must not make the verdicts
        // to say so: the machine cache's key asks libtorch, which the container image leaves out.
        if (Simulated.Value is null && !Process.IsValueCreated) return [];
        var verdicts = Current;
        lock (verdicts.Reporting)
        {
            var failures = verdicts.Log.Where(c => !c.Passed).ToArray();
            var fresh = failures[verdicts.Reported..];
            verdicts.Reported = failures.Length;
            return fresh;
        }
    }

    /// <summary>
    /// Largest error allowed, relative to the float64 result's largest magnitude. The reference sees the same
    /// rounded inputs, so what is left is the convolution's own arithmetic. Float32: accumulation rounding grows like
    /// sqrt(K)·2^-24 for K products; measured 3e-7–1.2e-5 on every resnet18 shape, forward and backward, at batch
    /// 4 and 32 (224 px) under every oneDNN ISA cap and at batch 32 (256 px) uncapped, on an Intel Xeon with AMX.
    /// bfloat16: the output's rounding to 8 significant bits (2^-8 ≈ 3.9e-3),
    /// measured 2e-3–3.5e-3 forward; backward without native bfloat16 (oneDNN capped at AVX2) rounds partial
    /// weight-gradient sums too, measured up to 1.6e-2 at batch 32. The fault seen on Zen 5 was 0.4–0.5.
    /// </summary>
    public static double Tolerance(ScalarType type, bool backward) => type switch
    {
        ScalarType.Float64 => 1e-12,
        ScalarType.Float32 => 1e-4,
        ScalarType.BFloat16 => backward ? 5e-2 : 1e-2,
        _ => throw new ArgumentException($"no tolerance for {type}"),
    };

    /// <summary>
    /// The route that computes <paramref name="shape"/> correctly in <paramref name="type"/>: channels-last if it
    /// passes, else NCHW, else the same in float32 (for bfloat16), else float64. Checked once per shape, type,
    /// backward need and thread count.
    /// </summary>
    public static ConvRoute RouteFor(ConvShape shape, ScalarType type, bool backward)
    {
        if (type == ScalarType.Float64) return new ConvRoute(ConvLayout.Contiguous, ScalarType.Float64);
        var key = new Key(shape, type, backward, get_num_threads());
        var verdicts = Current;
        var choice = verdicts.Routes.GetOrAdd(key, k => new Lazy<ConvRoute>(() => Choose(k, verdicts)));
        try
        {
            return choice.Value;
        }
        catch
        {
            // A Lazy keeps its factory's exception for good: a check that ran out of memory once would fail this
            // shape for the rest of the process. Only a finished choice is kept; the next call chooses again.
            verdicts.Routes.TryRemove(new KeyValuePair<Key, Lazy<ConvRoute>>(key, choice));
            throw;
        }
    }

    /// <summary>
    /// The first route that passes, its checks logged once it is found: a choice that throws logs nothing, so the
    /// retry's checks are not logged (and reported) twice. A route an earlier process chose on this machine is taken
    /// from the cache, its checks logged as if run (so a fallback is still reported), and a new one is added to it.
    /// </summary>
    static ConvRoute Choose(Key key, Verdicts verdicts)
    {
        if (verdicts.Kept.TryGetValue(key, out var kept))
        {
            foreach (var check in kept.Checks) verdicts.Log.Enqueue(check);
            return kept.Route;
        }
        var checks = new List<ConvCheck>();
        var route = FirstPassing(key, checks);
        foreach (var check in checks) verdicts.Log.Enqueue(check);
        if (verdicts.Cache is { } cache)
        {
            verdicts.Kept[key] = new CachedRoute(key.Shape, key.Type, key.Backward, key.Threads, route, [.. checks]);
            cache.Write(CacheSection, verdicts.Kept.Values.ToArray());
        }
        return route;
    }

    static ConvRoute FirstPassing(Key key, List<ConvCheck> checks)
    {
        var types = key.Type == ScalarType.Float32 ? [ScalarType.Float32] : new[] { key.Type, ScalarType.Float32 };
        foreach (var type in types)
            foreach (var layout in new[] { ConvLayout.ChannelsLast, ConvLayout.Contiguous })
            {
                checks.Add(Measure(key.Shape, type, layout, key.Backward));
                if (checks[^1].Passed) return new ConvRoute(layout, type);
            }
        return new ConvRoute(ConvLayout.Contiguous, ScalarType.Float64);
    }

    /// <summary>
    /// Runs one convolution of <paramref name="shape"/> in <paramref name="type"/> and <paramref name="layout"/> on
    /// seeded random data and compares it with float64: the output, and with <paramref name="backward"/> the input
    /// and weight gradients too. Uses a generator of its own, so the process-wide torch seed is left alone.
    /// </summary>
    public static ConvCheck Measure(ConvShape shape, ScalarType type, ConvLayout layout, bool backward)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(0x5eed);
        long[] stride = [shape.Stride, shape.Stride], padding = [shape.Padding, shape.Padding];

        // What the network does: float32 master weights cast to the compute type, the input in that type and layout.
        using var fanIn = Math.Sqrt(shape.InChannels * shape.Kernel * shape.Kernel).ToScalar();
        var master = randn([shape.OutChannels, shape.InChannels, shape.Kernel, shape.Kernel], generator: generator)
            .div_(fanIn).requires_grad_(backward);
        var x = Layout(randn([shape.Batch, shape.InChannels, shape.Height, shape.Width], generator: generator).to(type), layout)
            .detach().requires_grad_(backward);
        var y = nn.functional.conv2d(x, master.to(type), null, stride, padding);
        if (Current.Fault?.Invoke(shape, type, layout) == true) y = y.add(ones_like(y), Scalars.One);
        var upstream = backward ? randn(y.shape, generator: generator).to(type) : null;
        if (upstream is not null) y.backward([Layout(upstream, layout)]);

        // The reference sees the same rounded inputs, so only the convolution's own arithmetic is compared. It runs
        // a few images at a time (each image's convolution is its own), so its float64 buffers stay small: whole,
        // the 7×7 stem at batch 32 and 256 px took 2.1 GiB against 1.0 GiB for the network's own inference.
        var xRef = x.detach().to(ScalarType.Float64).contiguous().requires_grad_(backward);
        var wRef = master.detach().to(type).to(ScalarType.Float64).requires_grad_(backward);
        var output = new ErrorRange();
        for (long start = 0; start < shape.Batch; start += ReferenceChunk)
        {
            using var chunkScope = NewDisposeScope();
            long length = Math.Min(ReferenceChunk, shape.Batch - start);
            var yRef = nn.functional.conv2d(xRef.narrow(0, start, length), wRef, null, stride, padding);
            output.Add(y.detach().narrow(0, start, length), yRef);
            if (upstream is not null) yRef.backward([upstream.narrow(0, start, length).to(ScalarType.Float64)]);
        }
        double error = output.Relative;
        if (backward)
            error = Math.Max(error, Math.Max(RelativeError(x.grad!, xRef.grad!), RelativeError(master.grad!, wRef.grad!)));
        return new ConvCheck(shape, type, layout, backward, error);
    }

    /// <summary>Images per float64 reference convolution.</summary>
    const long ReferenceChunk = 4;

    /// <summary>The largest difference and the largest reference magnitude, gathered part by part.</summary>
    sealed class ErrorRange
    {
        double _difference, _peak;

        public void Add(Tensor actual, Tensor reference)
        {
            using var scope = NewDisposeScope();
            _difference = Math.Max(_difference, (actual.to(ScalarType.Float64) - reference).abs().max().item<double>());
            _peak = Math.Max(_peak, reference.abs().max().item<double>());
        }

        public double Relative => _difference / Math.Max(_peak, double.Epsilon);
    }

    /// <summary>Largest absolute difference from a float64 reference, relative to the reference's largest magnitude.</summary>
    public static double RelativeError(Tensor actual, Tensor reference)
    {
        var range = new ErrorRange();
        range.Add(actual, reference);
        return range.Relative;
    }

    /// <summary>The same N×C×H×W tensor stored in <paramref name="layout"/>.</summary>
    public static Tensor Layout(Tensor x, ConvLayout layout)
    {
        if (layout == ConvLayout.Contiguous) return x.contiguous();
        using var permuted = x.permute(0, 2, 3, 1);
        using var nhwc = permuted.contiguous();
        return nhwc.permute(0, 3, 1, 2);
    }
}

/// <summary>How one convolution shape is run: in which layout and type.</summary>
public sealed record ConvRoute(ConvLayout Layout, ScalarType Type);
