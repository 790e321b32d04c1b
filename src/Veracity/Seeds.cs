namespace Veracity;

/// <summary>
/// Derives independent, reproducible seeds from several integers. (HashCode.Combine is randomised per
/// process, so it cannot be used where runs must repeat.)
/// </summary>
public static class Seeds
{
    /// <summary>
    /// Constants mixed in beside a seed so that each use of it draws its own stream. They are negative because
    /// per-row streams mix in a row index (≥ 0), so no salt can collide with a row.
    /// </summary>
    public static class Salt
    {
        public const long Shuffle = -1, BatchMixing = -2, ValidationSplit = -3, BalancedSources = -4, CrossValidationSplit = -5,
            ManipulatedReals = -6, Rehearsal = -7;
        /// <summary>The synthetic set's stratified validation split (placed before the class, not after the epoch).</summary>
        public const long SynthSplit = -1;
    }

    public static int Mix(params ReadOnlySpan<long> parts)
    {
        ulong state = 0x9E3779B97F4A7C15;
        foreach (long part in parts)
            state = SplitMix(state ^ (ulong)part);
        return (int)(state >> 33);
    }

    /// <summary>A stable number for a name (FNV-1a over its UTF-16 units), to seed per-name streams.</summary>
    public static long Of(string name)
    {
        ulong hash = 0xCBF29CE484222325;
        foreach (char c in name) hash = (hash ^ c) * 0x100000001B3;
        return (long)hash;
    }

    static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }
}
