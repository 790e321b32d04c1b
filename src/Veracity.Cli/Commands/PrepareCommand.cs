using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Data;

namespace Veracity.Cli.Commands;

[Description("Writes a pre-scaled, lossless copy of a labelled image folder (same names, same pixels as training sees), in parallel and resumable.")]
public sealed class PrepareCommand : Command<PrepareCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--labels <FILE>")] public string Labels { get; init; } = "";
        [CommandOption("--images <DIR>")] public string Images { get; init; } = "";
        [CommandOption("--size <PIXELS>"), Description("The training image size (width and height).")] public int Size { get; init; } = 256;
        [CommandOption("--out <DIR>"), Description("Gets the label file and an image folder of the same names.")]
        public string Out { get; init; } = "";

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Labels) || string.IsNullOrEmpty(Images) || string.IsNullOrEmpty(Out)
                ? ValidationResult.Error("--labels, --images and --out are required")
                : Size < 16 ? ValidationResult.Error("--size must be at least 16")
                : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var summary = Ui.Counted($"Preparing {settings.Size}px copies", (start, step) =>
            Prepare.Run(settings.Labels, settings.Images, settings.Size, settings.Out, start, step));
        AnsiConsole.MarkupLineInterpolated(
            $"Wrote {summary.Written} images, kept {summary.UpToDate} up to date; labels in [bold]{summary.LabelFile}[/]");
        if (summary.Failures.Count == 0) return 0;
        AnsiConsole.MarkupLineInterpolated($"[red]{summary.Failures.Count} image(s) could not be prepared[/] (left out of the label file):");
        foreach (var failure in summary.Failures.Take(10))
            AnsiConsole.MarkupLineInterpolated($"  {failure.Name}: {failure.Problem}");
        return 1;
    }
}
