using Veracity.Metrics;
namespace Veracity.Metrics;

/// <summary>
/// What the competition measures, for fake-probability scores against 0/1 targets: ROC AUC first (exact, ties
/// averaged), TPR at FPR = 1e-3 as the tie-break, then AP, EER, accuracy and log-loss. Rank metrics are null when
/// the labels hold a single class, with <see cref="Note"/> saying why.
/// </summary>
public sealed record BinaryMetrics(
    int Count, int Real, int Fake,
    double? Auc, double? TprAtFpr1e3, double? TprAtFpr1e2, double? AveragePrecision,
    double? Eer, double? EerThreshold, double Accuracy, double? AccuracyAtEer, double LogLoss,
    ConfusionMatrix Confusion, string? Note)
{
    public const double DecisionThreshold = 0.5;

    public static BinaryMetrics Compute(IReadOnlyList<double> scores, IReadOnlyList<int> targets)
    {
        if (scores.Count != targets.Count) throw new ArgumentException("one score per target");
        if (scores.Count == 0) throw new VeracityException("no scores to evaluate");
        if (scores.Any(double.IsNaN)) throw new VeracityException($"{scores.Count(double.IsNaN)} of {scores.Count} scores are NaN: they cannot be ranked");
        int fake = targets.Count(t => t == 1), real = targets.Count - fake;
        double accuracy = ScoreMetrics.Accuracy(scores, targets, DecisionThreshold);
        var confusion = ScoreMetrics.Confusion(scores, targets, DecisionThreshold);
        double logLoss = ScoreMetrics.LogLoss(scores, targets);
        if (fake == 0 || real == 0)
            return new BinaryMetrics(scores.Count, real, fake, null, null, null, null, null, null, accuracy, null, logLoss, confusion,
                $"the labels hold only {(fake == 0 ? "real" : "deepfake")} images: AUC, AP and EER need both classes");

        var roc = ScoreMetrics.Roc(scores, targets);
        var (eer, eerThreshold) = ScoreMetrics.EqualErrorRate(roc);
        return new BinaryMetrics(scores.Count, real, fake, ScoreMetrics.Auc(scores, targets), ScoreMetrics.TprAtFpr(roc, 1e-3),
            ScoreMetrics.TprAtFpr(roc, 1e-2), ScoreMetrics.AveragePrecision(scores, targets), eer, eerThreshold, accuracy,
            ScoreMetrics.Accuracy(scores, targets, eerThreshold),
            logLoss, confusion, null);
    }
}
