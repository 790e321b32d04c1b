using Veracity.Evaluation;
using Veracity.Metrics;

namespace Veracity.Tests;

public class MetricsTests
{
    [Fact]
    public void Nan_scores_are_refused_not_ranked()
    {
        // NaN equals no threshold: the ROC sweep once looped on it, growing its point list until the process was killed.
        var error = Assert.Throws<VeracityException>(() => BinaryMetrics.Compute([0.2, double.NaN, 0.7], [0, 1, 1]));
        Assert.Contains("1 of 3 scores are NaN", error.Message);
    }

    [Fact]
    public void Auc_counts_ties_as_half()
    {
        // Pairs (fake, real): 0.8>0.1, 0.8>0.4, 0.4=0.4 (half), 0.4>0.1 → 3.5 of 4.
        Assert.Equal(0.875, ScoreMetrics.Auc([0.1, 0.4, 0.4, 0.8], [0, 0, 1, 1]), 12);
        Assert.Equal(1.0, ScoreMetrics.Auc([0.1, 0.2, 0.9], [0, 0, 1]), 12);
        Assert.Equal(0.0, ScoreMetrics.Auc([0.9, 0.2], [0, 1]), 12);
        Assert.Equal(0.5, ScoreMetrics.Auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 12);
    }

    [Fact]
    public void Each_fake_source_is_ranked_against_every_real_the_lowest_first()
    {
        // Reals 0.1 (source "lfw") and 0.3 ("unsplash"). "b": 0.5 and 0.2 beat 3 of the 4 pairs → 0.75; "a": all → 1.
        double[] scores = [0.1, 0.3, 0.9, 0.4, 0.5, 0.2];
        int[] targets = [0, 0, 1, 1, 1, 1];
        Assert.Equal([("b", 0.75), ("a", 1.0)], ScoreMetrics.AucBySource(scores, targets, ["lfw", "unsplash", "a", "a", "b", "b"]));
        Assert.Equal([("x", ScoreMetrics.Auc(scores, targets))], ScoreMetrics.AucBySource(scores, targets, ["r", "r", "x", "x", "x", "x"]));
        Assert.Empty(ScoreMetrics.AucBySource([0.9, 0.4], [1, 1], ["a", "b"]));
    }

    [Fact]
    public void Each_source_weighs_the_same_in_the_source_balanced_log_loss()
    {
        // Source "big": three reals at 0.5 (ln 2 each); source "small": one fake at 0.25 (ln 4). Per image the mean
        // is (3 ln 2 + 2 ln 2) / 4 = 1.25 ln 2; per source (ln 2 + 2 ln 2) / 2 = 1.5 ln 2.
        double[] scores = [0.5, 0.5, 0.5, 0.25];
        int[] targets = [0, 0, 0, 1];
        Assert.Equal(1.25 * Math.Log(2), ScoreMetrics.LogLoss(scores, targets), 12);
        Assert.Equal(1.5 * Math.Log(2), ScoreMetrics.SourceBalancedLogLoss(scores, targets, ["big", "big", "big", "small"]), 12);
        Assert.Equal(ScoreMetrics.LogLoss(scores, targets), ScoreMetrics.SourceBalancedLogLoss(scores, targets, ["a", "a", "a", "a"]), 12);
    }

    [Fact]
    public void Average_precision_matches_the_hand_computed_sum()
    {
        // Descending: 0.9 (fake) P=1 R=.5; 0.8 (real) P=.5; 0.7 (fake) P=2/3 R=1 → .5·1 + .5·2/3.
        Assert.Equal(0.5 + 0.5 * 2 / 3.0, ScoreMetrics.AveragePrecision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]), 12);
        // A tie group counts as one threshold: 0.5 holds one fake and one real → P=.5 at R=1.
        Assert.Equal(0.5, ScoreMetrics.AveragePrecision([0.5, 0.5], [1, 0]), 12);
    }

    [Fact]
    public void Tpr_at_low_fpr_takes_the_best_point_under_the_bound()
    {
        // 1000 reals with one above every fake: at FPR ≤ 1e-3 that one false positive is allowed.
        var scores = new List<double>();
        var targets = new List<int>();
        for (int i = 0; i < 1000; i++) { scores.Add(i == 0 ? 0.99 : 0.1); targets.Add(0); }
        for (int i = 0; i < 10; i++) { scores.Add(0.5 + i * 0.01); targets.Add(1); }
        var roc = ScoreMetrics.Roc(scores, targets);
        Assert.Equal(1.0, ScoreMetrics.TprAtFpr(roc, 1e-3), 12);
        Assert.Equal(0.0, ScoreMetrics.TprAtFpr(roc, 1e-4), 12);
    }

    [Fact]
    public void Eer_and_its_threshold_on_a_symmetric_case()
    {
        // Reals 0.1,0.2,0.6; fakes 0.4,0.8,0.9. At threshold 0.6: FPR 1/3, FNR 1/3.
        var roc = ScoreMetrics.Roc([0.1, 0.2, 0.6, 0.4, 0.8, 0.9], [0, 0, 0, 1, 1, 1]);
        var (eer, threshold) = ScoreMetrics.EqualErrorRate(roc);
        Assert.Equal(1 / 3.0, eer, 12);
        Assert.Equal(0.6, threshold, 12);
    }

    [Fact]
    public void Full_metrics_accuracy_confusion_and_log_loss()
    {
        var m = BinaryMetrics.Compute([0.1, 0.6, 0.4, 0.9], [0, 0, 1, 1]);
        Assert.Equal((4, 2, 2), (m.Count, m.Real, m.Fake));
        Assert.Equal(0.5, m.Accuracy, 12);
        Assert.Equal(new ConfusionMatrix(1, 1, 1, 1), m.Confusion);
        double expected = -(Math.Log(0.9) + Math.Log(0.4) + Math.Log(0.4) + Math.Log(0.9)) / 4;
        Assert.Equal(expected, m.LogLoss, 12);
        Assert.Equal(0.75, m.Auc!.Value, 12);
        Assert.Null(m.Note);
    }

    [Fact]
    public void Single_class_gives_a_note_instead_of_nan()
    {
        var m = BinaryMetrics.Compute([0.2, 0.3], [0, 0]);
        Assert.Null(m.Auc);
        Assert.Null(m.Eer);
        Assert.Contains("only real images", m.Note);
        Assert.Equal(1.0, m.Accuracy);
        Assert.Equal(0.0, ScoreMetrics.LogLoss([0.0, 1.0], [0, 1]), 10);
    }
}
