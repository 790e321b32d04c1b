using System.Runtime.InteropServices;

namespace Veracity.Models;

/// <summary>
/// Turns libtorch's NNPACK convolutions off, process-wide. libtorch asks whether NNPACK can serve a convolution that
/// oneDNN declined, and on a CPU NNPACK does not know it logs "Could not initialize NNPACK! Reason: Unsupported
/// hardware." every time it asks: 286 lines in one <c>veracity demo</c> on AMD EPYC family 26 (Zen 5). Off, every
/// CPU takes the same libtorch paths, which <see cref="ConvolutionCheck"/> checks, instead of NNPACK's kernels on the
/// CPUs where it starts. libtorch's switch is a C++ member of its global context that TorchSharp does not wrap, so it
/// is called by its exported (Itanium-mangled) name.
/// </summary>
public static partial class Nnpack
{
    /// <summary>Switches NNPACK off; returns false where libtorch lacks the switch (then nothing changes).</summary>
    public static bool Disable()
    {
        try
        {
            TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU); // libtorch loaded before the calls below bind to it
            var context = GlobalContext();
            SetUserEnabledNnpack(context, false);
            return !UserEnabledNnpack(context);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial IntPtr GlobalContext();

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static partial void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool UserEnabledNnpack(IntPtr context);
}
