using System.Runtime.InteropServices;

namespace Veracity;

/// <summary>
/// Tunes glibc's allocator, which libtorch's CPU tensors come from. By default glibc raises its mmap threshold
/// after each large free (up to 32 MiB), so later activations of a few MiB land in its heaps, which fragment and
/// never shrink: training's resident memory then creeps up by hundreds of MiB over the first steps. A fixed
/// threshold sends every activation of 4 MiB or more to its own mapping, returned to the system when freed.
/// Measured on ResNet-18 training at 256 px, batch 40: peak RSS 2.8 → 1.9 GiB for about 5% fewer images/s.
/// </summary>
public static partial class NativeHeap
{
    const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD in malloc.h
    public const int MmapThreshold = 4 << 20;

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

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);
}
