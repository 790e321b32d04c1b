using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Synth;

namespace Veracity.Cli.Commands;

[Description("Writes a SYNTHETIC data set: procedurally painted scenes (real) and manipulated copies (fake). Not real faces.")]
public sealed class SynthCommand : Command<SynthCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>"), Description("Folder to write trainset/, valset/ and their label files into.")]
        public string Out { get; init; } = "data/synth";

        [CommandOption("--count <N>"), Description("Images in total (half real, half fake).")]
        public int Count { get; init; } = 1000;

        [CommandOption("--size <PIXELS>"), Description("Width and height of each image.")]
        public int Size { get; init; } = 256;

        [CommandOption("--seed <K>"), Description("Same seed, same files.")]
        public int Seed { get; init; }

        [CommandOption("--val-fraction <F>"), Description("Share of images written to valset/.")]
        public double ValFraction { get; init; } = 0.2;

        [CommandOption("--manipulations <LIST>"), Description("Comma-separated fake kinds to use: splice, resample, checkerboard, " +
            "colour, double-jpeg (default: all).")]
        public string? Manipulations { get; init; }

        public override ValidationResult Validate() =>
            Count < 2 ? ValidationResult.Error("--count must be at least 2 (one real, one fake)")
            : Size is < 16 or > 4096 ? ValidationResult.Error("--size must be between 16 and 4096")
            : ValFraction is < 0 or >= 1 ? ValidationResult.Error("--val-fraction must be in [0, 1)")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = new SynthOptions(settings.Out, settings.Count, settings.Size, settings.Seed, settings.ValFraction,
            settings.Manipulations?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        AnsiConsole.MarkupLine("[yellow]Synthetic data:[/] procedural scenes and manipulated copies, not real faces.");
        SynthSummary summary = null!;
        Ui.Progress().Start(progress =>
        {
            var task = progress.AddTask("Generating images", maxValue: options.Count);
            summary = SyntheticDataset.Generate(options, () => task.Increment(1));
        });

        var table = new Table().AddColumns("kind", "images", "what it is");
        foreach (var (kind, count) in summary.ByManipulation.OrderBy(k => k.Key))
            table.AddRow(kind, count.ToString(),
                kind == Veracity.Synth.Manipulations.None ? "real scene" : Veracity.Synth.Manipulations.Describe(kind));
        AnsiConsole.Write(table);
        string outDir = Path.GetFullPath(options.OutDir);
        AnsiConsole.MarkupLineInterpolated(
            $"Wrote {summary.Train} training and {summary.Val} validation images ({summary.Fakes} fake) to [bold]{outDir}[/]");
        return 0;
    }
}
