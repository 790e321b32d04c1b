using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Evaluation;
using Veracity.Inference;
using Veracity.Synth;

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
        [CommandOption("--by-type"), Description("Also report per manipulation type (needs the *_manipulations.txt that synth writes " +
            "beside the labels).")]
        public bool ByType { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Labels) || string.IsNullOrEmpty(Images) ? ValidationResult.Error("--labels and --images are required")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        string outDir = settings.Out ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.Model))!, "eval");
        var report = Evaluate(settings.Options, settings.Labels, settings.Images,
            settings.ByType ? SyntheticDataset.ReadManipulations(ManipulationFileFor(settings.Labels)) : null);
        Print(report);
        Ui.ReportConvolutionFallbacks();
        foreach (string file in Evaluator.Write(report, outDir))
            AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{file}[/]");
        return 0;
    }

    internal static EvaluationReport Evaluate(InferenceOptions run, string labels, string images, IReadOnlyDictionary<string, string>? fakeGroups)
    {
        using var detector = Detector.Load(run.Model, run.Engine);
        return Ui.Counted($"Scoring (TTA {run.Scoring.Tta}, {detector.Engine})", (start, step) =>
            Evaluator.Run(detector, run.Model, labels, images, run.Scoring, fakeGroups, start, step));
    }

    /// <summary>synth writes X_manipulations.txt beside X_label.txt.</summary>
    static string ManipulationFileFor(string labels)
    {
        string name = Path.GetFileName(labels);
        string side = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(labels))!,
            name.EndsWith("_label.txt") ? name[..^"_label.txt".Length] + "_manipulations.txt" : "");
        if (!File.Exists(side))
            throw new VeracityException($"--by-type needs {Path.GetFileName(side)} beside {labels} (written by `veracity synth`)");
        return side;
    }

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
        if (report.ByType is { } byType)
        {
            var types = new Table().AddColumns("manipulation", "fakes", "AUC vs all reals", "TPR at FPR 1e-2", "accuracy");
            foreach (var (kind, t) in byType.OrderBy(k => k.Key))
                types.AddRow(Markup.Escape(kind), t.Fake.ToString(), Format(t.Auc), Format(t.TprAtFpr1e2), t.Accuracy.ToString("F4"));
            AnsiConsole.Write(types);
        }
    }

    static string Format(double? value) => value?.ToString("F4") ?? "n/a";
}
