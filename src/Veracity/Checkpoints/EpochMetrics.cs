namespace Veracity.Checkpoints;

/// <summary>
/// Validation figures after one epoch, as written to metrics.jsonl; epoch −1 is the starting weights of a fine-tuning
/// run, validated before its first epoch (<see cref="TrainConfig.StartIsCandidate"/>), with the training figures zero.
/// </summary>
/// <remarks>
/// ValLogLoss is the mean cross-entropy of the softmax. Files written before 2026-11-30 also hold it as ValLoss, a
/// second name for the same figure; reading ignores that field. ValLowestSourceAuc is the lowest AUC of one fake
/// source against all validation reals, and ValLowestSource that source (null where the file predates them, from
/// 2026-12-03, or validation has no reals). ValSourceLogLoss is the mean of each validation source's own log-loss
/// (null where the file predates it, from 2026-12-03).
/// </remarks>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double LearningRate, double ImagesPerSecond,
    double ValAccuracy, double? ValAuc, double? ValAp, double? ValEer, double? EerThreshold, double ValLogLoss,
    double? ValLowestSourceAuc = null, string? ValLowestSource = null, double? ValSourceLogLoss = null);

/// <summary>Running sums of the epoch in progress, kept so a mid-epoch resume reports the same averages.</summary>
public sealed record EpochProgress(double LossSum, double Correct, int Seen);
