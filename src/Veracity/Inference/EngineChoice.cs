using Veracity.Checkpoints;

namespace Veracity.Inference;

/// <summary>
/// One engine's figures for one network on this machine: scoring speed on seeded random pictures, and how far its
/// probabilities landed from TorchSharp in float32's on the same pictures.
/// </summary>
public sealed record EngineTiming(Engine Engine, double ImagesPerSecond, double LargestDifference, double Allowed)
{
    public bool Correct => LargestDifference <= Allowed;
}

/// <summary>The engines timed for one network (backbone, input, size) on this machine.</summary>
public sealed record NetworkTimings(string Network, DateTimeOffset Measured, EngineTiming[] Engines);

/// <summary>
/// What <see cref="Engine.Auto"/> becomes: the fastest engine that is correct here, by measurement, not by a rule of
/// CPU flags. The rule it replaces (bfloat16 on AMX, else ONNX Runtime) was wrong somewhere every time it was
/// extended: bfloat16 was 1.13× ONNX Runtime on Zen 4 and 0.43× on Zen 5. The first use of a network on a machine
/// times each engine that can run it on a few batches (<see cref="Detector"/> does, a few seconds) and keeps the
/// figures in the <see cref="MachineCache"/>; later processes read them. <c>--engine</c> still overrides.
/// </summary>
public static class EngineChoice
{
    /// <summary>Pictures per timed batch, and timed runs after one warm-up run per engine.</summary>
    public const int Batch = 8, Runs = 2;

    /// <summary>
    /// Probability differences allowed against float32 TorchSharp. ONNX Runtime computes the same float32 network
    /// (measured under 1e-5 on trained models); bfloat16 rounds every layer to 8 significant bits, 0.02 on real faces.
    /// Random pictures sit nearer the decision boundary, where a probability moves most, so the bound is looser.
    /// </summary>
    public const double Float32Allowed = 1e-3, BFloat16Allowed = 0.05;

    const string Section = "engines";

    /// <summary>What the speed of an engine depends on besides the machine: the network's shape, not its weights.</summary>
    public static string NetworkOf(CheckpointInfo info) =>
        $"{info.Backbone}, {info.Config.Input.ToString().ToLowerInvariant()} input, {info.ImageSize} px, batch {Batch}";

    /// <summary>Every network timed on this machine so far (what <c>doctor</c> prints).</summary>
    public static IReadOnlyList<NetworkTimings> Known(MachineCache cache) => cache.Read<NetworkTimings[]>(Section) ?? [];

    /// <summary>The timings of <paramref name="info"/>'s network: from the cache, else measured now and kept.</summary>
    public static NetworkTimings For(CheckpointInfo info, MachineCache cache, Func<EngineTiming[]> measure)
    {
        string network = NetworkOf(info);
        if (Known(cache).FirstOrDefault(t => t.Network == network) is { } known) return known;
        var measured = new NetworkTimings(network, DateTimeOffset.UtcNow, measure());
        cache.Write(Section, Known(cache).Where(t => t.Network != network).Append(measured).ToArray());
        return measured;
    }

    /// <summary>The fastest correct engine of <paramref name="timings"/> (a TorchSharp one to score windows); float32 TorchSharp when none is.</summary>
    public static Engine Fastest(NetworkTimings timings, bool windows) =>
        timings.Engines.Where(t => t.Correct && !(windows && t.Engine == Engine.Onnx)).MaxBy(t => t.ImagesPerSecond)?.Engine ?? Engine.Torch;
}
