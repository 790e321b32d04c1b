using ScottPlot;
using Veracity.Metrics;

namespace Veracity.Evaluation;

/// <summary>The pictures people look at instead of tables: the ROC curve and the score histogram per class.</summary>
public static class Plots
{
    public static IReadOnlyList<string> Write(EvaluationReport report, string outDir)
    {
        var paths = new List<string>();
        var m = report.Overall;
        if (m.Auc is double auc)
        {
            var roc = ScoreMetrics.Roc(report.Scores, report.Targets);
            var plot = new Plot();
            var curve = plot.Add.Scatter(roc.Select(p => p.Fpr).ToArray(), roc.Select(p => p.Tpr).ToArray());
            curve.LegendText = $"ROC (AUC {auc:F4})";
            curve.MarkerSize = 0;
            curve.LineWidth = 2;
            var chance = plot.Add.Line(0, 0, 1, 1);
            chance.LinePattern = LinePattern.Dashed;
            chance.Color = Colors.Gray;
            chance.LegendText = "chance";
            plot.Title($"ROC — TPR at FPR 1e-3: {m.TprAtFpr1e3:F3}, EER {m.Eer:F3}");
            plot.XLabel("false positive rate (real called fake)");
            plot.YLabel("true positive rate (fakes caught)");
            plot.Axes.SetLimits(0, 1, 0, 1);
            plot.ShowLegend(Alignment.LowerRight);
            paths.Add(Save(plot, Path.Combine(outDir, "roc.png")));
        }

        var histogram = new Plot();
        const int bins = 20;
        foreach (var (target, name, color) in new[] { (0, "real", Colors.SteelBlue), (1, "deepfake", Colors.OrangeRed) })
        {
            var counts = new double[bins];
            for (int i = 0; i < report.Scores.Count; i++)
                if (report.Targets[i] == target) counts[Math.Min(bins - 1, (int)(report.Scores[i] * bins))]++;
            var bars = histogram.Add.Bars(Enumerable.Range(0, bins).Select(b => (b + 0.5) / bins).ToArray(), counts);
            bars.LegendText = $"{name} (n = {report.Targets.Count(t => t == target)})";
            foreach (var bar in bars.Bars)
            {
                bar.Size = 1.0 / bins * 0.9;
                bar.FillColor = color.WithAlpha(0.55);
                bar.LineWidth = 0;
            }
        }
        histogram.Title("Deepfake score by true class");
        histogram.XLabel("predicted deepfake probability");
        histogram.YLabel("images");
        histogram.Axes.Margins(bottom: 0);
        histogram.Axes.SetLimitsX(0, 1);
        histogram.ShowLegend(Alignment.UpperCenter);
        paths.Add(Save(histogram, Path.Combine(outDir, "scores.png")));
        return paths;
    }

    /// <summary>Writes the plot as an 800×600 PNG at <paramref name="path"/> and returns the path.</summary>
    internal static string Save(Plot plot, string path)
    {
        byte[] png = plot.GetImageBytes(800, 600, ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
        return path;
    }
}
