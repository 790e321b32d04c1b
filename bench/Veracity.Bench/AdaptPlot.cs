using System.Globalization;
using ScottPlot;

namespace Veracity.Bench;

/// <summary>
/// The picture of bench/adapt-curves.sh's table: per new kind, its AUC against the number of examples adapted on (solid),
/// its ceiling (dotted), and the lowest of the old kinds' AUCs (dashed), on a log axis of examples (0 drawn at 5).
/// </summary>
static class AdaptPlot
{
    public static void Run(BenchOptions options)
    {
        string tsv = options.String("--tsv", "adapt-curves.tsv"), output = options.String("--out", "adapt-curves.png");
        var rows = File.ReadAllLines(tsv).Skip(1).Select(line => line.Split('\t')).Select(f => (
            Kind: f[0], Examples: int.Parse(f[1], CultureInfo.InvariantCulture), New: double.Parse(f[2], CultureInfo.InvariantCulture),
            Ceiling: double.Parse(f[3], CultureInfo.InvariantCulture),
            OldLowest: f[4].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => double.Parse(p.Split('=')[1], CultureInfo.InvariantCulture))
                .DefaultIfEmpty(double.NaN).Min())).ToList();
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int index = 0;
        foreach (var kind in rows.GroupBy(r => r.Kind))
        {
            var color = palette.GetColor(index++);
            double[] xs = kind.Select(r => Math.Log10(Math.Max(5, r.Examples))).ToArray();
            var curve = plot.Add.Scatter(xs, kind.Select(r => r.New).ToArray(), color);
            curve.LegendText = $"{kind.Key}: new kind";
            curve.LineWidth = 2;
            var old = plot.Add.Scatter(xs, kind.Select(r => r.OldLowest).ToArray(), color);
            old.LegendText = $"{kind.Key}: old kinds (lowest)";
            old.LinePattern = LinePattern.Dashed;
            var ceiling = plot.Add.HorizontalLine(kind.First().Ceiling, 1, color, LinePattern.Dotted);
            ceiling.LegendText = $"{kind.Key}: ceiling";
        }
        int[] ticks = [0, 10, 25, 50, 100, 200];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            ticks.Select(t => Math.Log10(Math.Max(5, t))).ToArray(), ticks.Select(t => t.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.Title("veracity adapt: AUC against examples of the new kind");
        plot.XLabel("examples adapted on (half fakes, half reals; 0 = before)");
        plot.YLabel("ROC AUC on held-out pictures");
        // From just under the lowest figure (or chance, if lower) to 1: the differences that matter are a few hundredths.
        double lowest = rows.SelectMany(r => new[] { r.New, r.OldLowest }).Where(double.IsFinite).DefaultIfEmpty(0.5).Min();
        plot.Axes.SetLimitsY(Math.Floor(Math.Min(0.5, lowest) * 20 - 1) / 20, 1.01);
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(output, 900, 600);
        Console.WriteLine($"wrote {output}");
    }
}
