namespace Veracity.Checkpoints;

/// <summary>
/// Where the training data came from, so a run can be resumed from its folder alone: the label files, an optional
/// <c>img_name,source</c> file, and which sources were used (all when both lists are null; the selection applies to
/// the validation rows too, so validation stays in-domain).
/// </summary>
public sealed record TrainData(string TrainLabels, string TrainImages, string? ValLabels, string? ValImages, double ValFraction,
    string? Sources = null, IReadOnlyList<string>? OnlySources = null, IReadOnlyList<string>? ExcludeSources = null);
