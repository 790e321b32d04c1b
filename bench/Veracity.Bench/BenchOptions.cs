using System.Diagnostics;

namespace Veracity.Bench;

sealed class BenchOptions(string[] args)
{
    public string String(string name, string fallback) => Get(name) ?? fallback;

    public int Int(string name, int fallback) => Get(name) is { } value ? int.Parse(value) : fallback;

    public int[] Ints(string name, int[] fallback) =>
        Get(name) is { } value ? value.Split(',').Select(int.Parse).ToArray() : fallback;

    string? Get(string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    /// <summary>Runs <paramref name="pass"/> (which returns images processed) once to warm up, then for at least
    /// <paramref name="seconds"/>.</summary>
    public static void Report(string what, int seconds, Func<int> pass)
    {
        pass();
        var clock = Stopwatch.StartNew();
        int images = 0;
        while (clock.Elapsed.TotalSeconds < seconds) images += pass();
        Console.WriteLine($"{what}: {images / clock.Elapsed.TotalSeconds:F1} images/s ({images} images in {clock.Elapsed.TotalSeconds:F1} s)");
    }
}
