using Veracity.Checkpoints;
using Veracity.Cli.Commands;
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

    [Fact]
    public void Balance_fake_sources_false_alone_turns_the_generalise_presets_balancing_off()
    {
        var preset = new TrainCommand.Settings { Preset = "generalise" }.Config();
        Assert.Equal((true, 0.5), (preset.BalanceFakeSources, preset.SourcePower));

        // The preset's source power weighed its balancing, so it goes with it.
        var off = new TrainCommand.Settings { Preset = "generalise", BalanceFakeSources = false }.Config();
        off.Validate();
        Assert.Equal((false, false, 0.0), (off.BalanceFakeSources, off.BalanceSources, off.SourcePower));
        Assert.Equal(preset with { BalanceFakeSources = false, SourcePower = 0 }, off);

        // A power given outright is the user's: kept, and refused without a balancing to weigh.
        var given = new TrainCommand.Settings { Preset = "generalise", BalanceFakeSources = false, SourcePower = 0.5 }.Config();
        Assert.Equal("SourcePower", Assert.Throws<InvalidSettingException>(given.Validate).Setting);
        // Balancing every source instead keeps the preset's power for it.
        var all = new TrainCommand.Settings { Preset = "generalise", BalanceFakeSources = false, BalanceSources = true }.Config();
        all.Validate();
        Assert.Equal((true, 0.5), (all.BalanceSources, all.SourcePower));
    }

    [Fact]
    public void Synth_from_reals_then_train_with_the_generalisation_levers()
    {
        using var dir = new TempDir();
        string scenes = Path.Combine(dir.Path, "scenes"), own = Path.Combine(dir.Path, "own"), run = Path.Combine(dir.Path, "run");
        Assert.Equal(0, Cli.Run("synth", "--out", scenes, "--count", "24", "--size", "64", "--seed", "2", "--val-fraction", "0").ExitCode);
        var half = Cli.Run("synth", "--from-reals", Path.Combine(scenes, "trainset_label.txt"), "--out", own);
        Assert.Equal(2, half.ExitCode);
        Assert.Contains("--from-reals and --images go together", half.All);

        var made = Cli.Run("synth", "--from-reals", Path.Combine(scenes, "trainset_label.txt"), "--images", Path.Combine(scenes, "trainset"),
            "--manipulations", "splice,colour", "--per-kind", "5", "--out", own);
        Assert.True(made.ExitCode == 0, made.All);
        Assert.Matches(@"own-splice\s*│\s*5\s", made.Output);
        var rows = LabelFile.ReadLabels(Path.Combine(own, "labels.csv"));
        Assert.Equal((34, 10), (rows.Count, rows.Count(r => r.Source.StartsWith("own-"))));

        var train = Cli.Run("train", "--train-labels", Path.Combine(own, "labels.csv"), "--train-images", Path.Combine(own, "images"),
            "--val-fraction", "0.25", "--no-pretrained", "--image-size", "64", "--epochs", "1", "--batch-size", "8", "--input", "npr",
            "--freeze", "layer1", "--ema", "0.9", "--down-up", "0.5", "--noise", "0.5", "--erasing", "0.5", "--out", run);
        Assert.True(train.ExitCode == 0, train.All);
        var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement.GetProperty("config");
        Assert.Equal(("npr", "layer1", 0.9, 0.5), (config.GetProperty("Input").GetString(), config.GetProperty("Freeze").GetString(),
            config.GetProperty("EmaDecay").GetDouble(), config.GetProperty("ErasingProbability").GetDouble()));

        // The generalise preset brings faces, windows and SRM input of its own; smaller here to stay quick.
        string generalise = Path.Combine(dir.Path, "generalise");
        var preset = Cli.Run("train", "--train-labels", Path.Combine(own, "labels.csv"), "--train-images", Path.Combine(own, "images"),
            "--val-fraction", "0.25", "--no-pretrained", "--preset", "generalise", "--image-size", "64", "--crop", "32", "--epochs", "1",
            "--batch-size", "8", "--layer-decay", "0.5", "--face-resolution", "48", "--out", generalise);
        Assert.True(preset.ExitCode == 0, preset.All);
        config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(generalise, "config.json"))).RootElement.GetProperty("config");
        Assert.Equal(("generalise", 32, 0.5, "srm", 1.0), (config.GetProperty("Preset").GetString(), config.GetProperty("Crop").GetInt32(),
            config.GetProperty("LayerDecay").GetDouble(), config.GetProperty("Input").GetString(), config.GetProperty("CutmixAlpha").GetDouble()));
        Assert.Equal((true, 0.5), (config.GetProperty("BalanceFakeSources").GetBoolean(), config.GetProperty("SourcePower").GetDouble()));
        Assert.Equal(48, config.GetProperty("Faces").GetProperty("Resolution").GetInt32());
        Assert.True(Directory.Exists(Path.Combine(generalise, "faces")), "the preset's faces were cut");
        // "--balance-fake-sources false" turns the preset's balancing off (not given, it stays on); a source power given
        // with it has nothing to weigh: refused, so the false was read as false.
        var unbalanced = Cli.Run("train", "--train-labels", Path.Combine(own, "labels.csv"), "--train-images", Path.Combine(own, "images"),
            "--preset", "generalise", "--balance-fake-sources", "false", "--source-power", "0.5", "--out", Path.Combine(dir.Path, "never"));
        Assert.Equal(2, unbalanced.ExitCode);
        Assert.Contains("--source-power needs --balance-sources or --balance-fake-sources", unbalanced.All);

        var wrong = Cli.Run("train", "--train-labels", Path.Combine(own, "labels.csv"), "--train-images", Path.Combine(own, "images"),
            "--model", "resnet50", "--input", "npr", "--out", Path.Combine(dir.Path, "never"));
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("--input", wrong.All);
        var negative = Cli.Run("train", "--train-labels", Path.Combine(own, "labels.csv"), "--train-images", Path.Combine(own, "images"),
            "--cutmix", "-1", "--out", Path.Combine(dir.Path, "never"));
        Assert.Equal(2, negative.ExitCode);
        Assert.Contains("--cutmix is a Beta distribution's parameter", negative.All);

        // Face options on a preset that trains on whole pictures would be ignored: they are refused instead.
        var noFaces = Cli.Run("train", "--train-labels", Path.Combine(own, "labels.csv"), "--train-images", Path.Combine(own, "images"),
            "--margin", "1.5", "--out", Path.Combine(dir.Path, "never"));
        Assert.Equal(2, noFaces.ExitCode);
        Assert.Contains("--faces is needed for face options", noFaces.All);
    }
}
