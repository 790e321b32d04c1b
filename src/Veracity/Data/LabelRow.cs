namespace Veracity.Data;

/// <summary>One labelled image: its name relative to the image folder, 1 = deepfake, 0 = real.</summary>
public sealed record LabelRow(string Name, int Target, int Line);
