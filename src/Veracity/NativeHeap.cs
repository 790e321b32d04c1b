using System.Runtime.InteropServices;

namespace Veracity;

/// <summary>
/// Tunes glibc's allocator, which libtorch's CPU tensors come from. By default glibc raises its mmap threshold
/// after each large free (up to 32 MiB), so later activations of a few MiB land in its heaps, which fragment and
/// never shrink: training's resident memory then creeps up by hundreds of MiB over the first steps. A fixed
/// threshold sends every activation at or above it to its own mapping, returned to the system when freed.
/// Each such mapping is faulted in afresh, which a VM's kernel can make costly, so the threshold sits at the knee
/// measured on the AMD EPYC (Zen 5, family 26, Firecracker VM), ResNet-18 model benchmark at 256 px, batch 40,
/// bfloat16 (images/s, peak RSS): 4 MiB 18.1 / 1.80 GiB, 16 MiB 26.0 / 1.86 GiB, 32 MiB 27.4 / 2.69 GiB, glibc's
/// own 27.6 / 2.53 GiB; float32 4 / 16 / 32 MiB: 10.6 / 12.6 / 13.4 images/s, 2.19 / 2.33 / 2.64 GiB. Training
/// the generalise preset's 128-px windows (batch 32, two runs of 960 each): 25 images/s at 4 MiB, 51 at 16 MiB, 62
/// at glibc's own, peak RSS 1.09 / 1.29 / 1.39 GiB. A fixed threshold changes no number a tensor holds.
/// </summary>
public static partial class NativeHeap
{
    const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD in malloc.h
    public const int MmapThreshold = 16 << 20;

    /// <summary>Applies the fixed threshold; does nothing off glibc (returns false).</summary>
    public static bool LimitFragmentation()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return mallopt(MmapThresholdParameter, MmapThreshold) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false; // a libc without mallopt (musl)
        }
    }

    /// <summary>The variable libtorch's CPU allocator reads (once, at its first allocation).</summary>
    public const string HugePagesVariable = "THP_MEM_ALLOC_ENABLE";

    /// <summary>
    /// Asks libtorch to back tensors of 2 MiB and more with transparent huge pages (<see cref="HugePagesVariable"/>=1,
    /// which makes it align them to 2 MiB and madvise them). With the fixed mmap threshold (then 4 MiB) every large
    /// activation was a fresh mapping, which the kernel faults in and zeroes 4 KiB at a time: in a VM on the AMD
    /// EPYC (Zen 5, family 26) that was a fifth of training's CPU time. Measured there, whole `train --preset generalise`
    /// processes (2 epochs of 320-640 faces, 128-px windows, batch 32), on against off in two single pairs: wall
    /// 0.77 and 0.87 of the time, system time 85 → 45 s and 67 → 46 s, peak RSS within 8%, the same weights.
    /// Must run before libtorch's first allocation. Does nothing where the kernel has no huge pages or they are
    /// switched off, or where the user set the variable (0 opts out); returns whether it set it.
    /// </summary>
    public static bool BackTensorsWithHugePages()
    {
        if (!KernelOffersHugePages() || Environment.GetEnvironmentVariable(HugePagesVariable) is not null) return false;
        // .NET keeps its own copy of the environment on Unix; libtorch reads the C library's, so setenv it there.
        return setenv(HugePagesVariable, "1", 0) == 0;
    }

    /// <summary>Whether the kernel has transparent huge pages and they are not switched off.</summary>
    public static bool KernelOffersHugePages()
    {
        const string kernelSetting = "/sys/kernel/mm/transparent_hugepage/enabled";
        return OperatingSystem.IsLinux() && File.Exists(kernelSetting) && !File.ReadAllText(kernelSetting).Contains("[never]");
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
