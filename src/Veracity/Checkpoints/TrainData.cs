namespace Veracity.Checkpoints;

/// <summary>Where the training data came from, so a run can be resumed from its folder alone.</summary>
public sealed record TrainData(string TrainLabels, string TrainImages, string? ValLabels, string? ValImages, double ValFraction);
