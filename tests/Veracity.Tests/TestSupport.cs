using System.Diagnostics;
using Veracity.Synth;

namespace Veracity.Tests;

/// <summary>A fresh folder under the system temp directory, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("veracity-test-").FullName;

    public string File(string relative, string? content = null)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        if (content is not null) System.IO.File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The repository the tests were built from: the folder above the test binaries that holds Veracity.slnx.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot(AppContext.BaseDirectory);

    static string FindRoot(string start)
    {
        for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "Veracity.slnx"))) return folder.FullName;
        throw new DirectoryNotFoundException($"no Veracity.slnx in {start} or any folder above it");
    }
}

public static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}

/// <summary>A small synthetic data set made once and shared by the tests of a class (read-only).</summary>
public sealed class SmallSynthSet : IDisposable
{
    readonly TempDir _dir = new();

    public SmallSynthSet()
    {
        Summary = SyntheticDataset.Generate(new SynthOptions(_dir.Path, Count: 48, Size: 64, Seed: 7, ValFraction: 0.25));
    }

    public SynthSummary Summary { get; }
    public string Root => _dir.Path;
    public string TrainLabels => System.IO.Path.Combine(Root, "trainset_label.txt");
    public string TrainImages => System.IO.Path.Combine(Root, "trainset");
    public void Dispose() => _dir.Dispose();
}

/// <summary>Runs the real <c>veracity</c> command line in a child process, as a user would.</summary>
public static class Cli
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;

        /// <summary>All the output with each run of whitespace made one space: redirected, the console wraps lines at 80 columns.</summary>
        public string Unwrapped => System.Text.RegularExpressions.Regex.Replace(All, @"\s+", " ");
    }

    public static Result Run(params string[] args) => RunIn(AppContext.BaseDirectory, new Dictionary<string, string>(), args);

    /// <summary>
    /// Runs the command line of the build in <paramref name="folder"/> with <paramref name="environment"/> added, and
    /// waits for it to exit (3 minutes at most).
    /// </summary>
    public static Result RunIn(string folder, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = Start(folder, environment, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"veracity {string.Join(' ', args)} did not finish");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts the command line of the build in <paramref name="folder"/> with its output redirected; the caller waits.</summary>
    public static Process Start(string folder, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["COLUMNS"] = "200", ["NO_COLOR"] = "1" },
        };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.ArgumentList.Add(System.IO.Path.Combine(folder, "Veracity.Cli.dll"));
        foreach (string arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }
}
