using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Models;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Cli.Commands;

[Description("Fine-tunes a detector. --preset seed reproduces the reference baseline; the default preset is the team's CPU recipe. " +
    "Ctrl-C stops cleanly and --resume continues.")]
public sealed class TrainCommand : Command<TrainCommand.Settings>
{
    public sealed class Settings : RecipeSettings
    {
        [CommandOption("--train-labels <FILE>")] public string? TrainLabels { get; init; }
        [CommandOption("--train-images <DIR>")] public string? TrainImages { get; init; }
        [CommandOption("--val-labels <FILE>"), Description("Without it, --val-fraction of the training rows is held out (stratified).")]
        public string? ValLabels { get; init; }
        [CommandOption("--val-images <DIR>")] public string? ValImages { get; init; }
        [CommandOption("--val-fraction <F>")] public double ValFraction { get; init; } = 0.1;
        [CommandOption("--only-sources <A,B>"), Description("Train (and validate) on images of these sources only.")]
        public string? OnlySources { get; init; }
        [CommandOption("--exclude-sources <C>"), Description("Leave images of these sources out of training and validation.")]
        public string? ExcludeSources { get; init; }
        [CommandOption("--out <RUNDIR>"), Description("Run folder (default runs/<time>).")] public string? Out { get; init; }
        [CommandOption("--resume <RUNDIR>"), Description("Continue a stopped run from its last checkpoint.")] public string? Resume { get; init; }

        public TrainData Data => new(TrainLabels!, TrainImages!, ValLabels, ValImages, ValFraction, SourcesFile,
            Names(OnlySources), Names(ExcludeSources));

        /// <summary>Flags that would change the recipe: --resume continues with the recorded one, so it refuses them.</summary>
        bool ChangesRecipe =>
            SetsRecipe || new object?[] { TrainLabels, TrainImages, ValLabels, ValImages, SourcesFile, OnlySources, ExcludeSources, Out }
                .Any(v => v is not null);

        public override ValidationResult Validate() =>
            Resume is null && (TrainLabels is null || TrainImages is null)
                ? ValidationResult.Error("--train-labels and --train-images are required (or --resume RUNDIR)")
                : Resume is not null && ChangesRecipe
                    ? ValidationResult.Error("--resume continues a run with the data and settings it recorded; give it alone")
                    : (ValLabels is null) != (ValImages is null)
                        ? ValidationResult.Error("--val-labels and --val-images go together")
                        : ValFraction is <= 0 or >= 1
                            ? ValidationResult.Error("--val-fraction must be between 0 and 1")
                            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var result = Run(settings, cancellation);
        Summarise(result);
        return result.Outcome == TrainOutcome.Finished ? 0 : 130;
    }

    /// <summary>Trains with progress bars; SIGINT/SIGTERM ask the trainer to stop after the current batch.</summary>
    internal static TrainResult Run(Settings settings, CancellationToken cancellation, TrainConfig? config = null)
    {
        using var stop = new StopSignals(cancellation);
        try
        {
            config ??= settings.Config();
            if (settings.Resume is null) config.Validate(); // before faces are cut, which takes minutes on a large set
            string runDir = settings.Resume ?? settings.Out ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss"));
            if (settings.Resume is null) WarnOfShortcuts(settings.Data, config);
            var data = settings.Resume is null && config.Faces is { } faces
                ? OnFaces(settings.Data, faces, config.ImageSize, runDir, config.Reencode)
                : null;
            TrainResult result = null!;
            Ui.Progress().Start(progress =>
            {
                var observer = new TrainingProgress(progress);
                result = settings.Resume is not null
                    ? Trainer.Resume(runDir, observer, stop.Token)
                    : Trainer.Train(config, data ?? settings.Data, runDir, observer, stop.Token);
            });
            return result;
        }
        catch (InvalidSettingException e)
        {
            throw new VeracityException($"{Settings.Flag(e.Setting)} {e.Problem}", e);
        }
    }

    /// <summary>
    /// Cuts the faces of the training (and validation) pictures once, into the run folder, and points the run at the
    /// crops: detection costs once instead of every epoch, and pictures to skip are left out of the label files.
    /// </summary>
    internal static TrainData OnFaces(TrainData data, Faces.FaceSettings faces, int size, string runDir, Imaging.Reencoding? reencode)
    {
        (string Labels, string Images) Cut(string labels, string images, string part) =>
            FacesCommand.CutForTraining(labels, images, Path.Combine(runDir, "faces", part), faces, size, reencode);
        var train = Cut(data.TrainLabels, data.TrainImages, "train");
        var val = data.ValLabels is null ? ((string, string)?)null : Cut(data.ValLabels, data.ValImages!, "val");
        return data with { TrainLabels = train.Labels, TrainImages = train.Images, ValLabels = val?.Item1, ValImages = val?.Item2 };
    }

    /// <summary>
    /// Before training: whether a trait of how the training files were made (format, size, JPEG quality, ...) tells
    /// the classes apart by itself, on a sample of 400 files (a second or two). With --reencode the pipeline has
    /// evened them out, and this says what it evened out.
    /// </summary>
    static void WarnOfShortcuts(TrainData data, TrainConfig config)
    {
        var warnings = Data.DatasetReport.Inspect(data.TrainLabels, data.TrainImages, sample: 400, sourcesFile: data.Sources).ShortcutWarnings;
        if (warnings.Count == 0) return;
        if (config.Reencode is { } reencode)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[grey]The files differ by class ({warnings[0].Trait} first); --reencode {reencode.Quality},{reencode.LongSide} puts every picture through one pipeline.[/]");
            return;
        }
        StatsCommand.PrintShortcuts(warnings);
    }

    internal static void Summarise(TrainResult result)
    {
        var table = new Table().AddColumns("epoch", "train loss", "train acc", "val acc", "val AUC", "val EER", "img/s");
        foreach (var e in result.Epochs)
            table.AddRow(e.Epoch.ToString(), e.TrainLoss.ToString("F4"), (e.TrainAccuracy * 100).ToString("F1") + "%",
                (e.ValAccuracy * 100).ToString("F1") + "%", e.ValAuc?.ToString("F4") ?? "n/a", e.ValEer?.ToString("F4") ?? "n/a",
                e.ImagesPerSecond.ToString("F1"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"Run folder: [bold]{Path.GetFullPath(result.RunDir)}[/] (best: {Trainer.BestFile}, last: {Trainer.LastFile})");
        if (result.Outcome == TrainOutcome.Interrupted)
            AnsiConsole.MarkupLineInterpolated($"[yellow]Stopped early.[/] Continue with: veracity train --resume {result.RunDir}");
    }
}
