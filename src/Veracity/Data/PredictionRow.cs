namespace Veracity.Data;

/// <summary>One prediction row of a submission file.</summary>
public sealed record PredictionRow(string Name, double Score, int Line);
