using static TorchSharp.torch;

namespace Veracity;

/// <summary>
/// libtorch's process-wide random generator, which module constructors draw their initial weights from. Two
/// threads building models at once (parallel test classes, or a library user training two models) would otherwise
/// interleave their draws, and a seeded run would no longer repeat: seen as a resumed run 0.25 away from an
/// uninterrupted one, only inside the full parallel test run. Everything in Veracity that builds a module or draws
/// from the global generator does so under <see cref="Lock"/>; other random numbers use generators of their own.
/// </summary>
public static class TorchRandom
{
    public static readonly Lock Lock = new();

    /// <summary>Runs <paramref name="build"/> with the global generator seeded to <paramref name="seed"/>, and no other thread
    /// drawing from it.</summary>
    public static T Seeded<T>(int seed, Func<T> build)
    {
        lock (Lock)
        {
            manual_seed(seed);
            return build();
        }
    }
}
