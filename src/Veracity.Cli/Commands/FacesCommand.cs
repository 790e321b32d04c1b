using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Faces;

namespace Veracity.Cli.Commands;

[Description("Finds, aligns and cuts each picture's largest face into a copy of the data set (PNG data under the same names) with its " +
    "label file, and reports pictures with no, several or too-small faces. Parallel; an interrupted run resumes.")]
public sealed class FacesCommand : Command<FacesCommand.Settings>
{
    public sealed class Settings : FaceOptionSettings
    {
        [CommandOption("--labels <FILE>")] public string Labels { get; init; } = "";
        [CommandOption("--images <DIR>")] public string Images { get; init; } = "";
        [CommandOption("--out <DIR>")] public string Out { get; init; } = "";
        [CommandOption("--size <PX>"), Description("Side of the square crops (the training size).")] public int Size { get; init; } = 256;

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Labels) || string.IsNullOrEmpty(Images) || string.IsNullOrEmpty(Out)
                ? ValidationResult.Error("--labels, --images and --out are required")
                : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var summary = Cut(settings.Labels, settings.Images, settings.Out, settings.FaceSettings(), settings.Size);
        return summary.Failures.Count > 0 ? 1 : 0;
    }

    /// <summary>Cuts the faces of a labelled folder into <paramref name="outDir"/>: the label file and image folder to train on.</summary>
    internal static (string Labels, string Images) CutForTraining(string labels, string images, string outDir, FaceSettings faces, int size,
        Imaging.Reencoding? reencode) =>
        (Cut(labels, images, outDir, faces, size, reencode).LabelFile, FaceDataset.CropFolder(images, outDir));

    /// <summary>Runs <see cref="FaceDataset"/> with a progress bar and prints what a person should know about the result.</summary>
    internal static FacesSummary Cut(string labels, string images, string outDir, FaceSettings faces, int size, Imaging.Reencoding? reencode = null)
    {
        var summary = Ui.Counted("Finding and aligning faces", (start, step) => FaceDataset.Run(labels, images, outDir, faces, size, start, step, reencode));
        var table = new Table().Title("Faces").AddColumns("", "pictures");
        table.AddRow("pictures", summary.Images.ToString("N0"));
        table.AddRow("crops written (this run / resumed)", $"{summary.Written:N0} / {summary.Resumed:N0}");
        table.AddRow(faces.NoFace == NoFace.Skip ? "no usable face (skipped)" : "no usable face (whole picture used)",
            summary.NoFace.Count.ToString("N0"));
        table.AddRow("several faces (largest used)", summary.MultiFace.Count.ToString("N0"));
        table.AddRow($"faces below {faces.MinSize} px (not used)", summary.SmallFace.Count.ToString("N0"));
        table.AddRow(summary.Failures.Count > 0 ? "[red]unreadable[/]" : "unreadable", summary.Failures.Count.ToString("N0"));
        AnsiConsole.Write(table);
        foreach (var (title, names) in new[] { ("No usable face", summary.NoFace), ("Several faces", summary.MultiFace),
                                               ("Faces too small", summary.SmallFace) })
            if (names.Count > 0)
                AnsiConsole.MarkupLineInterpolated(
                    $"{title}: {string.Join(", ", names.Take(8))}{(names.Count > 8 ? $" … and {names.Count - 8} more" : "")}");
        foreach (var failure in summary.Failures.Take(8))
            AnsiConsole.MarkupLineInterpolated($"[red]cannot read[/] {failure.Name}: {failure.Problem}");
        if (summary.Written > 0) AnsiConsole.MarkupLineInterpolated($"{summary.FacesPerSecond:F1} pictures/s.");
        foreach (var faceSize in summary.FaceSizes)
            if (faceSize.Warns) AnsiConsole.MarkupLineInterpolated($"[yellow]shortcut:[/] {faceSize.Describe()}");
            else AnsiConsole.MarkupLineInterpolated($"[grey]face size, {faceSize.GroupA} against {faceSize.GroupB}: {faceSize.Separation * 100:0}% separable[/]");
        if (summary.FaceSizes.Any(s => s.Warns))
            AnsiConsole.MarkupLine("  Remove it before you trust a figure: gather faces of each class at the same sizes, or cut every face at " +
                                   "one resolution (--face-resolution PX).");
        string preview = Path.Combine(outDir, FaceDataset.PreviewFile);
        string logged = $"(every picture in {FaceDataset.LogFile})";
        AnsiConsole.MarkupLineInterpolated(
            $"Wrote [bold]{summary.LabelFile}[/], the report [bold]{summary.ReportFile}[/] {logged} and a contact sheet, [bold]{preview}[/]");
        return summary;
    }
}
