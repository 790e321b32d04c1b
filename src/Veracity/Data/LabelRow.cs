namespace Veracity.Data;

/// <summary>
/// One labelled image: its name relative to the image folder, 1 = deepfake, 0 = real, and where it came from (the
/// generator or manipulation of a fake, the origin of a real image; <see cref="Sources.Unknown"/> when not given).
/// </summary>
public sealed record LabelRow(string Name, int Target, int Line, string Source = Sources.Unknown);
