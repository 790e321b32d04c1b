using System.Runtime.CompilerServices;
using TorchSharp;

namespace Veracity.Tests;

static class TestProcess
{
    internal static readonly string MachineCache = Path.Combine(AppContext.BaseDirectory, "machine-cache");

    /// <summary>
    /// As the CLI does first: libtorch reads the huge-page switch once, at its first allocation. And the machine's
    /// verdicts (convolution routes, engine timings) go beside the test binaries, not into the user's cache.
    /// </summary>
    [ModuleInitializer]
    internal static void StartAsTheCliDoes()
    {
        NativeHeap.BackTensorsWithHugePages();
        if (Environment.GetEnvironmentVariable("VERACITY_CACHE") is null)
            Environment.SetEnvironmentVariable("VERACITY_CACHE", MachineCache);
    }
}

[Collection(nameof(MemoryCollection))]
public class NativeHeapTests
{
    [SkippableFact]
    public void Large_tensors_sit_on_huge_pages_where_the_kernel_offers_them()
    {
        Skip.IfNot(NativeHeap.KernelOffersHugePages(), "this kernel has no transparent huge pages, or they are switched off (never)");
        long before = AnonymousHugePagesKiB();
        using var tensor = torch.ones([64L << 20], torch.float32); // 256 MiB, every page touched
        long gained = AnonymousHugePagesKiB() - before;
        // Without the switch, libtorch's 4-KiB-aligned mappings get no huge pages when the kernel's mode is madvise.
        Assert.True(gained >= 128 << 10, $"AnonHugePages rose by {gained} KiB for a 256-MiB tensor");
    }

    static long AnonymousHugePagesKiB()
    {
        var line = File.ReadLines("/proc/self/smaps_rollup").Single(l => l.StartsWith("AnonHugePages:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }
}
