namespace Veracity.Metrics;

/// <summary>One point of the ROC curve: predicting "fake" for scores ≥ <see cref="Threshold"/>.</summary>
public readonly record struct RocPoint(double Threshold, double Fpr, double Tpr);

public sealed record ConfusionMatrix(int TrueNegative, int FalsePositive, int FalseNegative, int TruePositive);

/// <summary>The metric functions behind <see cref="BinaryMetrics"/>; a score ≥ threshold means "deepfake".</summary>
public static class ScoreMetrics
{
    /// <summary>Mann–Whitney U over average ranks: the probability that a random fake outscores a random real, ties counting half.</summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<int> targets)
    {
        int n = scores.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        double fakeRankSum = 0;
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]]) end++;
            double averageRank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++)
                if (targets[order[k]] == 1) fakeRankSum += averageRank;
            start = end + 1;
        }
        long fake = targets.Count(t => t == 1), real = n - fake;
        return (fakeRankSum - fake * (fake + 1) / 2.0) / (fake * (double)real);
    }

    /// <summary>The ROC curve from (0,0) to (1,1), one point per distinct score, thresholds descending.</summary>
    public static IReadOnlyList<RocPoint> Roc(IReadOnlyList<double> scores, IReadOnlyList<int> targets)
    {
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double fake = targets.Count(t => t == 1), real = targets.Count - fake;
        var points = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        int tp = 0, fp = 0;
        for (int k = 0; k < order.Length;)
        {
            double threshold = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == threshold; k++)
                if (targets[order[k]] == 1) tp++; else fp++;
            points.Add(new RocPoint(threshold, fp / real, tp / fake));
        }
        return points;
    }

    /// <summary>The best true-positive rate reachable with a false-positive rate no higher than <paramref name="maxFpr"/>.</summary>
    public static double TprAtFpr(IReadOnlyList<RocPoint> roc, double maxFpr) =>
        roc.Where(p => p.Fpr <= maxFpr).Max(p => p.Tpr);

    /// <summary>
    /// Where false-positive and false-negative rates meet, interpolated between the two ROC points around the
    /// crossing; the threshold is that of the nearer point.
    /// </summary>
    public static (double Eer, double Threshold) EqualErrorRate(IReadOnlyList<RocPoint> roc)
    {
        for (int i = 1; i < roc.Count; i++)
        {
            double before = (1 - roc[i - 1].Tpr) - roc[i - 1].Fpr, after = (1 - roc[i].Tpr) - roc[i].Fpr;
            if (after > 0) continue;
            // FNR − FPR goes from positive (or zero) to ≤ 0 between points i−1 and i.
            double t = before == after ? 0 : before / (before - after);
            double eer = roc[i - 1].Fpr + t * (roc[i].Fpr - roc[i - 1].Fpr);
            var nearer = t < 0.5 && !double.IsInfinity(roc[i - 1].Threshold) ? roc[i - 1] : roc[i];
            return (eer, nearer.Threshold);
        }
        return (0, roc[^1].Threshold);
    }

    /// <summary>Average precision as scikit-learn defines it: Σ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds.</summary>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<int> targets)
    {
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double fake = targets.Count(t => t == 1), ap = 0, previousRecall = 0;
        int tp = 0, seen = 0;
        for (int k = 0; k < order.Length;)
        {
            double threshold = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == threshold; k++, seen++)
                if (targets[order[k]] == 1) tp++;
            double recall = tp / fake, precision = tp / (double)seen;
            ap += (recall - previousRecall) * precision;
            previousRecall = recall;
        }
        return ap;
    }

    public static double Accuracy(IReadOnlyList<double> scores, IReadOnlyList<int> targets, double threshold) =>
        Enumerable.Range(0, scores.Count).Count(i => (scores[i] >= threshold ? 1 : 0) == targets[i]) / (double)scores.Count;

    public static ConfusionMatrix Confusion(IReadOnlyList<double> scores, IReadOnlyList<int> targets, double threshold)
    {
        int tn = 0, fp = 0, fn = 0, tp = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            bool predictedFake = scores[i] >= threshold;
            if (targets[i] == 1) { if (predictedFake) tp++; else fn++; }
            else if (predictedFake) fp++;
            else tn++;
        }
        return new ConfusionMatrix(tn, fp, fn, tp);
    }

    /// <summary>
    /// The rows each fake source is judged on, by source name in ordinal order: its fakes (<c>Fakes</c>) and, in
    /// <c>Rows</c>, every real row (whatever the reals' own sources) followed by those fakes.
    /// </summary>
    public static IEnumerable<(string Source, IReadOnlyList<int> Fakes, IReadOnlyList<int> Rows)> FakeSourcesWithReals(
        IReadOnlyList<int> targets, IReadOnlyList<string> sources)
    {
        var reals = Enumerable.Range(0, targets.Count).Where(i => targets[i] == 0).ToList();
        return Enumerable.Range(0, targets.Count).Where(i => targets[i] == 1).GroupBy(i => sources[i])
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, (IReadOnlyList<int>)g.ToList(), (IReadOnlyList<int>)[.. reals, .. g]));
    }

    /// <summary>
    /// Each fake source's AUC against every real image (whatever the reals' own sources), the lowest first; empty when
    /// there are no reals. With one fake source it is the overall AUC.
    /// </summary>
    public static IReadOnlyList<(string Source, double Auc)> AucBySource(IReadOnlyList<double> scores, IReadOnlyList<int> targets,
        IReadOnlyList<string> sources) =>
        !targets.Contains(0) ? [] : FakeSourcesWithReals(targets, sources)
            .Select(s => (s.Source, Auc(s.Rows.Select(i => scores[i]).ToList(), s.Rows.Select(i => targets[i]).ToList())))
            .OrderBy(s => s.Item2).ThenBy(s => s.Source, StringComparer.Ordinal).ToList();

    /// <summary>
    /// The mean of each source's own log-loss (reals' sources and fakes' alike), so a source of a few dozen images
    /// weighs as much as one of thousands. With one source it is <see cref="LogLoss"/>.
    /// </summary>
    public static double SourceBalancedLogLoss(IReadOnlyList<double> scores, IReadOnlyList<int> targets, IReadOnlyList<string> sources) =>
        Enumerable.Range(0, scores.Count).GroupBy(i => sources[i])
            .Average(source => LogLoss(source.Select(i => scores[i]).ToList(), source.Select(i => targets[i]).ToList()));

    /// <summary>Binary cross-entropy in nats, probabilities clipped to [1e-15, 1 − 1e-15] as scikit-learn does.</summary>
    public static double LogLoss(IReadOnlyList<double> scores, IReadOnlyList<int> targets)
    {
        double sum = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            double p = Math.Clamp(scores[i], 1e-15, 1 - 1e-15);
            sum -= targets[i] == 1 ? Math.Log(p) : Math.Log(1 - p);
        }
        return sum / scores.Count;
    }
}
