using ScottPlot;
using Veracity.Evaluation;

namespace Veracity.Experiments;

static class CrossValHeatmap
{
    /// <summary>
    /// Cross-validation as a picture: one row per fold (the source left out of training), one column per fake
    /// source, each cell that source's AUC against the held-out reals. The diagonal is the unseen generator; a red
    /// cell (below 0.5) is an inverted one.
    /// </summary>
    public static string Write(CrossValReport report, string path)
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
        return Plots.Save(plot, path);
    }
}
