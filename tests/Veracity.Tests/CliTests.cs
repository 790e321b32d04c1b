using Veracity.Data;

namespace Veracity.Tests;

public class CliTests
{
    [Fact]
    public void Synth_then_stats_print_the_right_counts()
    {
        using var dir = new TempDir();
        var synth = Cli.Run("synth", "--out", dir.Path, "--count", "30", "--size", "48", "--seed", "3", "--val-fraction", "0.2");
        Assert.Equal(0, synth.ExitCode);
        Assert.Contains("Synthetic data", synth.Output);
        Assert.Contains("Wrote 24 training and 6 validation images (15 fake)", synth.Output);

        var stats = Cli.Run("stats", "--labels", Path.Combine(dir.Path, "valset_label.txt"), "--images", Path.Combine(dir.Path, "valset"));
        Assert.Equal(0, stats.ExitCode);
        Assert.Matches(@"rows\s*│\s*6\s", stats.Output);
        Assert.Equal(6, LabelFile.ReadLabels(Path.Combine(dir.Path, "valset_label.txt")).Count);
    }

    [Fact]
    public void Help_says_the_data_is_synthetic()
    {
        var help = Cli.Run("synth", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("SYNTHETIC", help.Output);
    }

    [Fact]
    public void Bad_arguments_are_reported_without_a_stack_trace()
    {
        var missing = Cli.Run("stats", "--labels", "/nonexistent/labels.txt", "--images", "/tmp");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("/nonexistent/labels.txt: file not found", missing.All);
        Assert.DoesNotContain("   at ", missing.All);

        var bad = Cli.Run("synth", "--count", "1", "--out", Path.Combine(Path.GetTempPath(), "veracity-never"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--count must be at least 2", bad.All);
    }
}
