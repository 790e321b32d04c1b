namespace Veracity.Faces;

/// <summary>What to do with a picture in which no usable face is found.</summary>
public enum NoFace { WholeImage, Skip }

/// <summary>
/// How faces are found and cut. A checkpoint trained on face crops records these, so evaluation and prediction cut
/// faces the same way by themselves.
/// </summary>
public sealed record FaceSettings
{
    public FaceModel Model { get; init; } = FaceModel.Auto;
    /// <summary>The crop is the aligned face square enlarged by this factor.</summary>
    public double Margin { get; init; } = 1.3;
    /// <summary>Faces smaller than this (the box's longer side, in the picture's pixels) are reported, not used.</summary>
    public int MinSize { get; init; } = 40;
    public float Threshold { get; init; } = FaceDetector.DefaultThreshold;
    public NoFace NoFace { get; init; } = NoFace.WholeImage;
    /// <summary>
    /// When set, each crop is cut at this many pixels and then scaled to the size asked for, so every face reaches the
    /// network at one resolution however large it was in the picture (null: cut at the size asked for).
    /// </summary>
    public int? Resolution { get; init; }

    public void Validate()
    {
        if (Margin is < 1 or > 4) throw new VeracityException($"the face margin must be between 1 and 4, not {Margin}");
        if (MinSize < 8) throw new VeracityException($"the smallest face must be at least 8 px, not {MinSize}");
        if (Threshold is <= 0 or >= 1) throw new VeracityException($"the face threshold must be between 0 and 1, not {Threshold}");
        if (Resolution < 16) throw new VeracityException($"the face resolution must be at least 16 px, not {Resolution}");
    }
}
