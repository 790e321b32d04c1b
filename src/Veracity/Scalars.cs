using TorchSharp;

namespace Veracity;

/// <summary>
/// Numbers handed to libtorch, kept alive for as long as the call that reads them. TorchSharp converts a .NET
/// number to a native Scalar implicitly (<c>t.add_(u)</c> passes alpha = 1, <c>t * 0.5</c> passes 0.5) and leaves
/// the temporary to its finalizer, which may free it while the native call is still reading it: under GC load
/// (decoding threads allocating) this crashed a 50k-image bf16 prediction with "Expected false to be true" and,
/// in a stress run, training within a dozen steps. So Veracity never lets a Scalar be created implicitly on a hot
/// path: it passes <see cref="One"/> or a Scalar held by <c>using</c> for the length of the call.
/// </summary>
public static class Scalars
{
    public static readonly Scalar One = 1.ToScalar();
}
