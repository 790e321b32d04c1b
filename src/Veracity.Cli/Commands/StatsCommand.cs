using System.ComponentModel;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Data;

namespace Veracity.Cli.Commands;

[Description("Checks a labelled data set. Exit code 1 when rows reference missing or undecodable files.")]
public sealed class StatsCommand : Command<StatsCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--labels <FILE>"), Description("Label file with the header img_name,target.")]
        public string Labels { get; init; } = "";

        [CommandOption("--images <DIR>"), Description("Folder the img_name values are relative to.")]
        public string Images { get; init; } = "";

        [CommandOption("--sample <N>"), Description("Decode at most N images to check them and measure sizes (0 = all).")]
        public int Sample { get; init; } = 2000;

        [CommandOption("--sources <FILE>"), Description("img_name,source for label files without a source column.")]
        public string? SourcesFile { get; init; }

        [CommandOption("--json"), Description("Print the full report as JSON instead of tables.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Labels) || string.IsNullOrEmpty(Images)
                ? ValidationResult.Error("--labels and --images are required")
                : Sample < 0 ? ValidationResult.Error("--sample must be 0 (all) or positive") : ValidationResult.Success();
    }

    const int Shown = 10;

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        // --json output stays clean: no progress bar around it.
        var report = settings.Json
            ? DatasetReport.Inspect(settings.Labels, settings.Images, settings.Sample, sourcesFile: settings.SourcesFile)
            : Ui.Counted("Decoding images", (start, step) => DatasetReport.Inspect(settings.Labels, settings.Images, settings.Sample,
                startChecking: start, fileChecked: step, sourcesFile: settings.SourcesFile));

        if (settings.Json)
            Console.WriteLine(JsonSerializer.Serialize(report,
                new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        else
            Print(report);
        return report.HasProblems ? 1 : 0;
    }

    static void Print(DatasetReport r)
    {
        var counts = new Table().Title("Rows and files").AddColumns("", "count");
        counts.AddRow("rows", r.Rows.ToString("N0"));
        counts.AddRow("real (0)", $"{r.Real:N0} ({(1 - r.FakeFraction) * 100:F1}%)");
        counts.AddRow("deepfake (1)", $"{r.Fake:N0} ({r.FakeFraction * 100:F1}%)");
        counts.AddRow("files on disk", r.FilesOnDisk.ToString("N0"));
        counts.AddRow(Flag("rows with missing file", r.Missing.Count), r.Missing.Count.ToString("N0"));
        counts.AddRow("files without a row", r.Unlabelled.Count.ToString("N0"));
        counts.AddRow(r.Sampled ? "decoded (sample)" : "decoded", r.Checked.ToString("N0"));
        counts.AddRow(Flag("decode failures", r.DecodeFailures.Count), r.DecodeFailures.Count.ToString("N0"));
        AnsiConsole.Write(counts);
        if (r.BySource.Any(s => s.Source != Sources.Unknown))
        {
            var sources = new Table().Title("By source").AddColumns("source", "real", "deepfake");
            foreach (var s in r.BySource) sources.AddRow(Markup.Escape(s.Source), s.Real.ToString("N0"), s.Fake.ToString("N0"));
            AnsiConsole.Write(sources);
        }

        if (r.Width is { } w && r.Height is { } h)
        {
            var sizes = new Table().Title("Image sizes" + (r.Sampled ? " (sample)" : "")).AddColumns("", "min", "median", "max");
            sizes.AddRow("width", w.Min.ToString(), w.Median.ToString(), w.Max.ToString());
            sizes.AddRow("height", h.Min.ToString(), h.Median.ToString(), h.Max.ToString());
            AnsiConsole.Write(sizes);
            AnsiConsole.MarkupLineInterpolated($"Formats: {string.Join(", ", r.Formats.Select(f => $"{f.Key} {f.Value:N0}"))}");
        }

        PrintShortcuts(r.ShortcutWarnings);
        ListFirst("Rows whose file is missing", r.Missing);
        ListFirst("Files that could not be decoded", r.DecodeFailures.Select(f => $"{f.Name}: {f.Problem}").ToList());
        ListFirst("Files without a row (ignored)", r.Unlabelled);
        if (r.HasProblems)
            AnsiConsole.MarkupLine("[red]Problems found:[/] fix or drop the rows above (all are listed with --json).");
    }

    /// <summary>Traits of the files that tell the classes apart by themselves; train prints the same before it starts.</summary>
    public static void PrintShortcuts(IReadOnlyList<TraitComparison> warnings)
    {
        foreach (var warning in warnings)
            AnsiConsole.MarkupLineInterpolated($"[yellow]shortcut:[/] {warning.Describe()}");
        if (warnings.Count > 0)
            AnsiConsole.MarkupLine("  Remove it before you trust a figure: re-encode every picture through one pipeline (train --reencode QUALITY), " +
                                   "or gather files made the same way.");
    }

    static string Flag(string label, int count) => count > 0 ? $"[red]{label}[/]" : label;

    static void ListFirst(string title, IReadOnlyList<string> items)
    {
        if (items.Count == 0) return;
        AnsiConsole.MarkupLineInterpolated($"[bold]{title}[/] ({items.Count:N0}{(items.Count > Shown ? $", first {Shown}" : "")}):");
        foreach (string item in items.Take(Shown))
            AnsiConsole.MarkupLineInterpolated($"  {item}");
    }
}
