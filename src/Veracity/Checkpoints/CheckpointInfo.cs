using Veracity.Imaging;
using Veracity.Metrics;

namespace Veracity.Checkpoints;

/// <summary>Everything a checkpoint says about itself besides the weights.</summary>
public sealed record CheckpointInfo
{
    public const int CurrentFormat = 1;
    public static readonly string[] ClassOrder = ["real", "deepfake"];

    public int Format { get; init; } = CurrentFormat;
    public required string Backbone { get; init; }
    public required int ImageSize { get; init; }
    public required Normalize Normalize { get; init; }
    public string[] Classes { get; init; } = ClassOrder;
    /// <summary>Where the starting weights came from ("none: random initialisation" for untrained backbones).</summary>
    public required string InitialWeights { get; init; }
    public required TrainConfig Config { get; init; }
    public TrainData? Data { get; init; }
    /// <summary>The epoch in progress (or, with <see cref="NextBatch"/> 0, the next to start).</summary>
    public int Epoch { get; init; }
    public int NextBatch { get; init; }
    public EpochProgress? Progress { get; init; }
    public double? BestScore { get; init; }
    public EpochMetrics? Metrics { get; init; }
    /// <summary>The decision threshold for a verdict: the validation EER threshold, else 0.5.</summary>
    public double Threshold { get; init; } = BinaryMetrics.DecisionThreshold;
    public DateTime SavedAt { get; init; } = DateTime.UtcNow;
    /// <summary>
    /// The weights are stored compactly (<see cref="Checkpoints.CompactWeights"/>, <see cref="Checkpoint.CompactCopy"/>):
    /// a quarter of the file, for a model that ships in the repository; loaded back to float32.
    /// </summary>
    public bool CompactWeights { get; init; }
}
