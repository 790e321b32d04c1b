using System.Text.Json;
using Veracity.Data;
using Veracity.Inference;
using Veracity.Metrics;

namespace Veracity.Evaluation;

/// <summary>An evaluation's figures: overall, and per manipulation type when the data says which was used.</summary>
public sealed record EvaluationReport(string Model, string Labels, int Tta, BinaryMetrics Overall,
    IReadOnlyDictionary<string, BinaryMetrics>? ByType, IReadOnlyList<double> Scores, IReadOnlyList<int> Targets);

public static class Evaluator
{
    /// <summary>
    /// Scores the labelled images and computes the competition's metrics. With <paramref name="fakeGroups"/> (image
    /// name → group, such as the manipulation a fake came from), each group's fakes are also scored against all real
    /// images; fakes the map does not name form the group "unknown".
    /// </summary>
    public static EvaluationReport Run(Detector detector, string modelPath, string labels, string images, ScoringOptions options,
        IReadOnlyDictionary<string, string>? fakeGroups = null, Action<int>? startBatches = null, Action? batchDone = null)
    {
        var rows = LabelFile.ReadLabels(labels);
        var result = Prediction.Run(detector, images, rows.Select(r => r.Name).ToList(), options, OnError.Fail, startBatches, batchDone);
        var scores = result.Images.Select(i => i.Score!.Value).ToList();
        var targets = rows.Select(r => r.Target).ToList();

        Dictionary<string, BinaryMetrics>? byType = null;
        if (fakeGroups is not null)
        {
            byType = [];
            var reals = Enumerable.Range(0, rows.Count).Where(i => rows[i].Target == 0).ToList();
            foreach (var group in Enumerable.Range(0, rows.Count).Where(i => rows[i].Target == 1)
                         .GroupBy(i => fakeGroups.TryGetValue(rows[i].Name, out string? g) ? g : "unknown"))
            {
                var subset = reals.Concat(group).ToList();
                byType[group.Key] = BinaryMetrics.Compute(subset.Select(i => scores[i]).ToList(), subset.Select(i => targets[i]).ToList());
            }
        }
        return new EvaluationReport(modelPath, labels, options.Tta, BinaryMetrics.Compute(scores, targets), byType, scores, targets);
    }

    /// <summary>Writes metrics.json, roc.png and scores.png into <paramref name="outDir"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(EvaluationReport report, string outDir)
    {
        Directory.CreateDirectory(outDir);
        string metrics = Path.Combine(outDir, "metrics.json");
        AtomicFile.WriteAllBytes(metrics, JsonSerializer.SerializeToUtf8Bytes(new
        {
            report.Model, report.Labels, report.Tta, metrics = report.Overall, byType = report.ByType,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        return [metrics, .. Plots.Write(report, outDir)];
    }
}
