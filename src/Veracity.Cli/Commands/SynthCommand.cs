using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Synth;

namespace Veracity.Cli.Commands;

[Description("Writes a SYNTHETIC data set: procedurally painted scenes (real) and manipulated copies (fake), not real faces. " +
    "With --from-reals: a copy of your data set plus manipulated copies of its real pictures, as extra fake sources.")]
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
            "colour, double-jpeg, self-blend (default: all; painted scenes leave self-blend out).")]
        public string? Manipulations { get; init; }

        [CommandOption("--from-reals <LABELS>"), Description("Manipulate the real pictures of this label file " +
            "(img_name,target and an optional source) " +
            "instead of painting scenes; with --images. Writes OUT/images and OUT/labels.csv.")]
        public string? FromReals { get; init; }

        [CommandOption("--images <DIR>"), Description("With --from-reals: the folder its pictures are in.")]
        public string? Images { get; init; }

        [CommandOption("--per-kind <N>"), Description("With --from-reals: fakes made per manipulation kind.")]
        public int PerKind { get; init; } = 500;

        [CommandOption("--quality <Q>"), Description("With --from-reals: the JPEG quality every written picture is saved at.")]
        public int Quality { get; init; } = 90;

        public override ValidationResult Validate() =>
            Count < 2 ? ValidationResult.Error("--count must be at least 2 (one real, one fake)")
            : Size is < 16 or > 4096 ? ValidationResult.Error("--size must be between 16 and 4096")
            : ValFraction is < 0 or >= 1 ? ValidationResult.Error("--val-fraction must be in [0, 1)")
            : (FromReals is null) != (Images is null) ? ValidationResult.Error("--from-reals and --images go together")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.FromReals is not null) return FromReals(settings);
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

    static int FromReals(Settings settings)
    {
        var kinds = settings.Manipulations?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    ?? Veracity.Synth.Manipulations.All;
        var options = new FromRealsOptions(settings.FromReals!, settings.Images!, settings.Out, kinds, settings.PerKind, settings.Seed,
            settings.Quality);
        IReadOnlyDictionary<string, int> counts = null!;
        Ui.Progress().Start(progress =>
        {
            ProgressTask? task = null;
            counts = ManipulatedReals.Generate(options, total => task = progress.AddTask("Writing pictures", maxValue: total),
                () => task!.Increment(1));
        });
        var table = new Table().AddColumns("source", "pictures", "what it is");
        foreach (var (source, count) in counts.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            string kind = source.StartsWith(ManipulatedReals.SourcePrefix) ? source[ManipulatedReals.SourcePrefix.Length..] : "";
            table.AddRow(Markup.Escape(source), count.ToString("N0"),
                kind == Veracity.Synth.Manipulations.Splice ? "the face region of another real picture, softened, pasted in with a feathered seam"
                : kinds.Contains(kind) ? Veracity.Synth.Manipulations.Describe(kind) : "from the input data set");
        }
        AnsiConsole.Write(table);
        string labels = Path.GetFullPath(Path.Combine(options.OutDir, ManipulatedReals.LabelFile));
        AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{labels}[/] (images under {Path.GetFullPath(Path.Combine(options.OutDir, "images"))})");
        return 0;
    }
}
