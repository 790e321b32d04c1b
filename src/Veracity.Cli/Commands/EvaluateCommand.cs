using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Evaluation;
using Veracity.Inference;

namespace Veracity.Cli.Commands;

[Description("Scores labelled images and reports ROC AUC (first), TPR at FPR 1e-3, AP, EER, accuracy and log-loss, with ROC and score plots.")]
public sealed class EvaluateCommand : Command<EvaluateCommand.Settings>
{
    public sealed class Settings : InferenceSettings
    {
        [CommandOption("--labels <FILE>")] public string Labels { get; init; } = "";
        [CommandOption("--images <DIR>")] public string Images { get; init; } = "";
        [CommandOption("--out <DIR>"), Description("Where metrics.json, roc.png and scores.png go (default: eval/ beside the checkpoint).")]
        public string? Out { get; init; }
        [CommandOption("--by-source"), Description("Also score each fake source against the real images (AUC, TPR at FPR 1e-2, " +
            "mean score), and warn where the scores are inverted. Sources: the label file's 'source' column or --sources.")]
        public bool BySource { get; init; }
        [CommandOption("--sources <FILE>"), Description("img_name,source for images whose label file has no source column.")]
        public string? SourcesFile { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Labels) || string.IsNullOrEmpty(Images) ? ValidationResult.Error("--labels and --images are required")
            : base.Validate();

        protected override bool AveragesModels => true;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        string outDir = settings.Out ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.Model))!, "eval");
        var report = Evaluate(settings.Options, settings.Labels, settings.Images, settings.BySource, settings.SourcesFile);
        Print(report);
        Ui.ReportConvolutionFallbacks();
        foreach (string file in Evaluator.Write(report, outDir))
            AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{file}[/]");
        return 0;
    }

    internal static EvaluationReport Evaluate(InferenceOptions run, string labels, string images, bool bySource, string? sourcesFile = null) =>
        Evaluator.Run(string.Join(" + ", run.Models), run.Scoring, labels, names => PredictCommand.Score(run, images, names, OnError.Fail).Result,
            bySource, sourcesFile);

    internal static void Print(EvaluationReport report)
    {
        var m = report.Overall;
        if (m.Note is not null) AnsiConsole.MarkupLineInterpolated($"[yellow]Note:[/] {m.Note}");
        var table = new Table().AddColumns("metric", "value");
        table.AddRow("images (real / deepfake)", $"{m.Count} ({m.Real} / {m.Fake})");
        table.AddRow("[bold]ROC AUC[/]", Format(m.Auc));
        table.AddRow("TPR at FPR 1e-3", Format(m.TprAtFpr1e3));
        table.AddRow("TPR at FPR 1e-2", Format(m.TprAtFpr1e2));
        table.AddRow("average precision", Format(m.AveragePrecision));
        table.AddRow("EER (threshold)", m.Eer is null ? "n/a" : $"{m.Eer:F4} ({m.EerThreshold:F4})");
        table.AddRow("accuracy at 0.5", m.Accuracy.ToString("F4"));
        table.AddRow("accuracy at EER threshold", Format(m.AccuracyAtEer));
        table.AddRow("log-loss", m.LogLoss.ToString("F4"));
        var c = m.Confusion;
        table.AddRow("confusion at 0.5",
            $"real→real {c.TrueNegative}, real→fake {c.FalsePositive}, fake→real {c.FalseNegative}, fake→fake {c.TruePositive}");
        AnsiConsole.Write(table);
        if (report.BySource is { } bySource) PrintSources(bySource);
        if (report.RealsBySource is { Count: > 0 } reals) PrintRealSources(reals);
    }

    static void PrintRealSources(IReadOnlyList<RealSourceReport> sources)
    {
        var table = new Table().AddColumns("real source", "reals", "mean score", "called fake at 0.5", "AUC of all fakes against them");
        foreach (var s in sources)
            table.AddRow(Markup.Escape(s.Source), s.Reals.ToString(), s.MeanScore.ToString("F4"), $"{s.CalledFake * 100:F0}%",
                Format(s.VsAllFakes.Auc));
        AnsiConsole.Write(table);
        WarnCalledFake(sources, "");
    }

    /// <summary>
    /// Warns for every real source whose reals are mostly called fake (<see cref="RealSourceReport"/> says why it
    /// matters); <paramref name="where"/> names the fold, if any.
    /// </summary>
    internal static void WarnCalledFake(IEnumerable<RealSourceReport> sources, string where)
    {
        foreach (var s in sources.Where(s => s.CalledFake >= 0.5))
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]Warning:[/]{where} {s.CalledFake * 100:F0}% of the reals from '{s.Source}' are called fake: the model may take something these pictures share with the fakes (framing, face size, quality) for forgery.");
    }

    static void PrintSources(IReadOnlyList<SourceReport> sources)
    {
        bool own = sources.Any(s => s.VsOwnReals is not null);
        var table = new Table().AddColumns("fake source", "fakes", "mean score", "AUC vs all reals", "TPR at FPR 1e-2");
        if (own) table.AddColumns("AUC vs own reals", "TPR at FPR 1e-2 (own)");
        foreach (var s in sources)
        {
            string auc = s.VsAllReals.Auc < 0.5 ? $"[red]{Format(s.VsAllReals.Auc)}[/]" : Format(s.VsAllReals.Auc);
            var cells = new List<string> { Markup.Escape(s.Source), s.Fakes.ToString(), s.MeanScore.ToString("F4"), auc,
                Format(s.VsAllReals.TprAtFpr1e2) };
            if (own) cells.AddRange([Format(s.VsOwnReals?.Auc), Format(s.VsOwnReals?.TprAtFpr1e2)]);
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        string why = "the model rates these fakes as more real than the reals. " +
                     "This is the usual failure on a generator training did not show; an average over sources hides it.";
        foreach (var s in sources.Where(s => s.Inverted))
            AnsiConsole.MarkupLineInterpolated(
                $"[red]Warning:[/] scores are [bold]inverted[/] for '{s.Source}' (AUC below 0.5): {why}");
    }

    static string Format(double? value) => value?.ToString("F4") ?? "n/a";
}
