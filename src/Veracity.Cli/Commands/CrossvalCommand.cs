using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Checkpoints;
using Veracity.Experiments;
using Veracity.Training;

namespace Veracity.Cli.Commands;

[Description("Leave-one-source-out: for each fake source, train without it and test on it against held-out reals. " +
    "Ctrl-C stops; running it again resumes fold by fold.")]
public sealed class CrossvalCommand : Command<CrossvalCommand.Settings>
{
    public sealed class Settings : RecipeSettings
    {
        [CommandOption("--labels <FILE>"), Description("img_name,target,source (or give --sources).")]
        public string Labels { get; init; } = "";
        [CommandOption("--images <DIR>")] public string Images { get; init; } = "";
        [CommandOption("--folds <LIST>"), Description("all, or the fake sources to leave out, comma-separated.")]
        public string Folds { get; init; } = "all";
        [CommandOption("--hold-out <F>"), Description("Share of the reals (and of each fake source) held out for testing, the same in every fold.")]
        public double HoldOut { get; init; } = 0.2;
        [CommandOption("--tta <N>"), Description("Test-time views each fold is scored with, as predict --tta (1 = plain image; then " +
            "flips; default: the recipe's own, 4 for the generalise preset, else 1). Finished folds are scored again, not " +
            "retrained, when it changes.")]
        public int? Tta { get; init; }
        [CommandOption("--members <N>"), Description("Models trained per fold on the same split (the Nth with --seed + N - 1); the fold is " +
            "scored by the mean of their scores. Raising it on finished folds trains only the new members.")]
        public int Members { get; init; } = 1;
        [CommandOption("--out <DIR>"), Description("Folder of the folds, crossval.json and crossval.png (default runs/crossval-<time>).")]
        public string? Out { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Labels) || string.IsNullOrEmpty(Images) ? ValidationResult.Error("--labels and --images are required")
            : HoldOut is <= 0 or >= 1 ? ValidationResult.Error("--hold-out must be between 0 and 1")
            : Tta is < 1 or > Models.Scoring.MaxViews ? ValidationResult.Error($"--tta must be 1 to {Models.Scoring.MaxViews} (the plain picture and its flips)")
            : Members < 1 ? ValidationResult.Error("--members must be at least 1")
            : ValidationResult.Success();

        public CrossValOptions Options(TrainConfig config) => new(Labels, Images,
            Out ?? Path.Combine("runs", "crossval-" + DateTime.Now.ToString("yyyyMMdd-HHmmss")), config, SourcesFile,
            Folds == "all" ? null : Names(Folds), HoldOut, new Inference.ScoringOptions(Tta), Members);
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        TrainConfig config;
        try
        {
            config = settings.Config();
            config.Validate();
        }
        catch (InvalidSettingException e)
        {
            throw new VeracityException($"{RecipeSettings.Flag(e.Setting)} {e.Problem}", e);
        }
        var options = settings.Options(config);
        if (config.Faces is { } faces)
        {
            // Faces are cut once for every fold.
            var (labels, images) = FacesCommand.CutForTraining(options.Labels, options.Images, Path.Combine(options.OutDir, "faces"), faces,
                config.ImageSize, config.Reencode);
            options = options with { Labels = labels, Images = images };
        }
        var folds = CrossValidation.Plan(options);
        int largest = folds.Max(f => f.Train.Count);
        string estimate = Estimate(config, options.Members * folds.Sum(f => config.EpochSize ?? f.Train.Count),
            options.Members * folds.Sum(f => (long)f.Val.Count));
        string epochs = config.EpochSize is { } size ? $"{config.Epochs} epochs of {size:N0} images" : $"{config.Epochs} epochs";
        string recipe = $"{config.Model} at {config.ImageSize}px, {epochs}, up to {largest:N0} training images each";
        string timing = $"about {estimate} on this machine (a guess; after the first fold the time left is measured).";
        string trainings = options.Members == 1 ? $"{folds.Count} trainings" : $"{folds.Count} folds × {options.Members} members";
        AnsiConsole.MarkupLineInterpolated($"Cross-validation by source: [bold]{trainings}[/] of {recipe}; {timing}");
        AnsiConsole.MarkupLineInterpolated($"Folds go to [bold]{Path.GetFullPath(options.OutDir)}[/]; run the same command again to resume.");

        using var stop = new StopSignals(cancellation);
        var table = new Table().AddColumns("fold (left out)", "train images", "AUC on it (unseen)", "TPR at FPR 1e-2", "AUC in-domain", "minutes");
        int done = 0;
        double minutes = 0;
        CrossValReport report = null!;
        Ui.Progress().Start(progress => report = CrossValidation.Run(options, fold =>
            {
                int unseen = fold.Test.Count(r => r.Target == 1);
                AnsiConsole.MarkupLineInterpolated(
                    $"[yellow]Fold {done + 1}/{folds.Count}[/]: without [bold]{fold.Source}[/] ({fold.Train.Count} training, {unseen} unseen fakes)");
                return new TrainingProgress(progress);
            },
            result =>
            {
                done++;
                minutes += result.Minutes;
                table.AddRow(Markup.Escape(result.Source), result.TrainImages.ToString("N0"), Auc(result.Unseen.Auc),
                    Format(result.Unseen.TprAtFpr1e2), Format(result.InDomain.Auc), result.Minutes.ToString("F1"));
                if (done < folds.Count)
                    AnsiConsole.MarkupLineInterpolated(
                        $"  fold done: unseen AUC {Format(result.Unseen.Auc)}; about {minutes / done * (folds.Count - done):F0} min left");
            }, stop.Token));

        if (report.Folds.Count < folds.Count)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]Stopped[/] after {report.Folds.Count} of {folds.Count} folds; run the same command to resume.");
            return 130;
        }
        table.AddEmptyRow();
        table.AddRow("[bold]mean[/]", "", Auc(report.MeanUnseenAuc), "",
            Format(report.Folds.Select(f => f.InDomain.Auc).OfType<double>().DefaultIfEmpty().Average()), "");
        if (report.Worst is { } worst) table.AddRow("[bold]worst[/]", Markup.Escape(worst.Source), Auc(worst.Unseen.Auc), "", "", "");
        AnsiConsole.Write(table);
        foreach (var fold in report.Folds.Where(f => f.Unseen.Auc < 0.5))
            AnsiConsole.MarkupLineInterpolated($"[red]Warning:[/] scores are [bold]inverted[/] on '{fold.Source}' when training never saw it.");
        foreach (var fold in report.Folds)
            EvaluateCommand.WarnCalledFake(fold.RealsBySource ?? [], $" in the fold without '{fold.Source}',");
        string reportFile = Path.Combine(options.OutDir, CrossValidation.ReportFile);
        string heatmapFile = Path.Combine(options.OutDir, CrossValidation.HeatmapFile);
        AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{reportFile}[/] and [bold]{heatmapFile}[/]");
        Ui.ReportConvolutionFallbacks();
        return 0;
    }

    /// <summary>
    /// A rough time from training speeds measured on the 2-core development machines (resnet18 at 256 px: about 19
    /// images/s in bfloat16, 8 in float32), scaled by the side of what training sees (its windows with --crop), not by
    /// pixels: 128-px windows trained at 25-46 images/s, not four times 19. Validation counts at three times the
    /// training speed, testing adds a tenth. The generalise preset's three whole-corpus folds took about 40 min on the
    /// Intel machine and an hour on Zen 5; this says 48 (counting whole faces in float32 without AMX, it said 163).
    /// </summary>
    static string Estimate(TrainConfig config, long trainImages, long valImages)
    {
        double perSecondAt256 = Models.Backbones.Get(config.Model).Resolve(config.Precision) == Models.Precision.BFloat16 ? 19 : 8;
        double PerSecond(int size) => perSecondAt256 * 256.0 / size;
        double seconds = config.Epochs * (trainImages / PerSecond(config.Crop ?? config.ImageSize) + valImages / (3 * PerSecond(config.ImageSize)));
        double minutes = seconds / 60 * 1.1;
        return minutes < 1 ? "under a minute" : $"{minutes:F0} min";
    }

    static string Auc(double? auc) => auc < 0.5 ? $"[red]{auc:F4}[/]" : Format(auc);

    static string Format(double? value) => value?.ToString("F4") ?? "n/a";
}
