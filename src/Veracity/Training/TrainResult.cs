using Veracity.Checkpoints;

namespace Veracity.Training;

/// <summary>How a run ended.</summary>
public enum TrainOutcome { Finished, Interrupted }

/// <summary>What a run left: how it ended, its folder, its epochs and the best validation score.</summary>
public sealed record TrainResult(TrainOutcome Outcome, string RunDir, IReadOnlyList<EpochMetrics> Epochs, double? BestScore)
{
    public string BestCheckpoint => Path.Combine(RunDir, Trainer.BestFile);
    public string LastCheckpoint => Path.Combine(RunDir, Trainer.LastFile);
}
