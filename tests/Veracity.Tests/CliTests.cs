using System.Reflection;
using Spectre.Console.Cli;
using Veracity.Cli;
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

        // The generalise preset brings faces and windows of its own; smaller here to stay quick.
        string generalise = Path.Combine(dir.Path, "generalise");
        var preset = Cli.Run("train", "--train-labels", Path.Combine(own, "labels.csv"), "--train-images", Path.Combine(own, "images"),
            "--val-fraction", "0.25", "--no-pretrained", "--preset", "generalise", "--image-size", "64", "--crop", "32", "--epochs", "1",
            "--batch-size", "8", "--layer-decay", "0.5", "--face-resolution", "48", "--out", generalise);
        Assert.True(preset.ExitCode == 0, preset.All);
        config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(generalise, "config.json"))).RootElement.GetProperty("config");
        Assert.Equal(("generalise", 32, 0.5, "rgb", 1.0), (config.GetProperty("Preset").GetString(), config.GetProperty("Crop").GetInt32(),
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

    public static TheoryData<string> Commands() => new(VeracityCommands.All.Select(command => command.Name));

    /// <summary>
    /// Every registered command prints its help: descriptions are Spectre markup, where a bracket such as
    /// "img_name,target[,source]" is a style tag and crashed `adapt --help` until it was escaped.
    /// </summary>
    [Theory, MemberData(nameof(Commands))]
    public void Every_command_prints_its_help(string name)
    {
        var help = Cli.Run(name, "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains($"veracity {name}", help.Output);
        Assert.DoesNotContain("Exception", help.All);
    }

    /// <summary>
    /// Every registered command, given the longest of its options with the last letter dropped, refuses it, names it and
    /// suggests the option; a command without options points to its help. Required arguments (score's images) are
    /// given, so the option is all that is wrong.
    /// </summary>
    [Theory, MemberData(nameof(Commands))]
    public void Every_command_refuses_an_unknown_option_and_suggests_the_one_meant(string name)
    {
        var command = VeracityCommands.All.Single(c => c.Name == name);
        var options = UnknownOption.DeclaredOptions(command.Settings);
        string? meant = options.MaxBy(option => option.Length);
        string typo = meant is null ? "--no-such-option" : meant[..^1];
        Assert.DoesNotContain(typo, options);
        var arguments = command.Settings.GetProperties()
            .Select(property => property.GetCustomAttribute<CommandArgumentAttribute>())
            .OfType<CommandArgumentAttribute>()
            .Where(argument => argument.IsRequired)
            .Select(argument => "x");

        var result = Cli.Run([name, .. arguments, typo, "3"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(meant is null ? $"unknown option '{typo}' for {name}; veracity {name} --help lists its options"
            : $"unknown option '{typo}' for {name}; did you mean '{meant}'?", result.Unwrapped);
    }

    [Fact]
    public void An_unknown_option_far_from_every_option_points_to_the_help()
    {
        var predict = Cli.Run("predict", "--model", "M", "--images", "D", "--bogus-flag", "3", "--out", "x.csv");
        Assert.Equal(2, predict.ExitCode);
        Assert.Contains("unknown option '--bogus-flag' for predict; veracity predict --help lists its options", predict.Unwrapped);

        var stats = Cli.Run("stats", "--labels", "L", "--images", "D", "--tta", "9");
        Assert.Equal(2, stats.ExitCode);
        Assert.Contains("unknown option '--tta' for stats; veracity stats --help lists its options", stats.Unwrapped);

        // crossval's --by is gone: folds leave out a source, the only kind there was.
        var by = Cli.Run("crossval", "--labels", "L", "--images", "D", "--by", "source");
        Assert.Equal(2, by.ExitCode);
        Assert.Contains("unknown option '--by' for crossval; veracity crossval --help lists its options", by.Unwrapped);

        // Before its image, the unknown option is refused, not read as taking the image for its value.
        var score = Cli.Run("score", "--bogus", "a.jpg", "--model", "M");
        Assert.Equal(2, score.ExitCode);
        Assert.Contains("unknown option '--bogus' for score", score.Unwrapped);
    }

    [Theory]
    [InlineData("--modle", "--model")] // swapped letters: 1 edit
    [InlineData("--Model", "--model")]
    [InlineData("--lable", "--labels")] // 2 edits
    [InlineData("--batch", "--batch-size")] // 5 edits, but the only option it begins
    [InlineData("--tta", null)] // 3 edits from every option below
    [InlineData("--bogus-flag", null)]
    [InlineData("--by", null)] // 2 edits from "--lr": a different word, not a slip
    public void The_closest_option_is_a_slip_away(string typed, string? closest) =>
        Assert.Equal(closest, UnknownOption.Closest(typed, ["--labels", "--images", "--model", "--batch-size", "--sample", "--json", "--lr"]));
}
