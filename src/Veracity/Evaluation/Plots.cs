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

    /// <summary>
    /// Cross-validation as a picture: one row per fold (the source left out of training), one column per fake
    /// source, each cell that source's AUC against the held-out reals. The diagonal is the unseen generator; a red
    /// cell (below 0.5) is an inverted one.
    /// </summary>
    public static string CrossValHeatmap(CrossValReport report, string path)
    {
        var sources = report.Folds.SelectMany(f => f.BySource.Select(s => s.Source)).Distinct().Order(StringComparer.Ordinal).ToList();
        var values = new double[report.Folds.Count, sources.Count];
        for (int row = 0; row < report.Folds.Count; row++)
            for (int column = 0; column < sources.Count; column++)
                values[row, column] = report.Folds[row].BySource.FirstOrDefault(s => s.Source == sources[column])?.VsAllReals.Auc
                                      ?? double.NaN;
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values); // row 0 at the top
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        for (int row = 0; row < report.Folds.Count; row++)
            for (int column = 0; column < sources.Count; column++)
            {
                double auc = values[row, column];
                bool unseen = report.Folds[row].Source == sources[column];
                string text = double.IsNaN(auc) ? "–" : unseen ? $"[{auc:F2}]" : $"{auc:F2}";
                var label = plot.Add.Text(text, column, report.Folds.Count - 1 - row);
                label.LabelFontSize = 15;
                label.LabelBold = unseen;
                label.LabelFontColor = auc > 0.6 ? Colors.Black : Colors.White;
                label.LabelAlignment = Alignment.MiddleCenter;
            }
        plot.Add.ColorBar(heatmap).Label = "AUC vs held-out reals";
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, sources.Count).Select(i => (double)i).ToArray(), sources.ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, report.Folds.Count).Select(i => (double)(report.Folds.Count - 1 - i)).ToArray(),
            report.Folds.Select(f => $"without {f.Source}").ToArray());
        plot.XLabel("fake source tested");
        plot.YLabel("fold (source left out of training)");
        plot.Title($"Leave-one-source-out: [unseen] on the diagonal, mean unseen AUC {report.MeanUnseenAuc:F3}");
        return Save(plot, path);
    }

    static string Save(Plot plot, string path)
    {
        byte[] png = plot.GetImageBytes(800, 600, ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
        return path;
    }
}
