using System.Diagnostics;

namespace Veracity.Bench;

sealed class BenchOptions(string[] args)
{
    public string String(string name, string fallback) => Get(name) ?? fallback;

    public int Int(string name, int fallback) => Get(name) is { } value ? int.Parse(value) : fallback;

    public int[] Ints(string name, int[] fallback) =>
        Get(name) is { } value ? value.Split(',').Select(int.Parse).ToArray() : fallback;

    /// <summary>The repository's root folder (the one holding Veracity.slnx), found above the bench's build output.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Veracity.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("Veracity.slnx not found above the bench's folder");
    }

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
