using System.ComponentModel;
using Spectre.Console.Cli;
using Veracity.Faces;

namespace Veracity.Cli.Commands;

/// <summary>How faces are found and cut: the options faces, train and crossval share.</summary>
public class FaceOptionSettings : CommandSettings
{
    [CommandOption("--margin <M>"), Description("The crop is the aligned face square enlarged by M (default 1.3).")]
    public double? Margin { get; init; }
    [CommandOption("--min-face <PX>"), Description("Faces smaller than this (box side, in picture pixels) are reported, not used (default 40).")]
    public int? MinFace { get; init; }
    [CommandOption("--face-model <NAME>"), Description("auto (default: full range, short range for close-ups), full (faces near " +
        "and far) or short (faces filling the picture).")]
    public FaceModel? FaceModel { get; init; }
    [CommandOption("--no-face <MODE>"), Description("A picture without a usable face: wholeimage (default: use the whole picture) or skip.")]
    public NoFace? NoFace { get; init; }
    [CommandOption("--face-resolution <PX>"), Description("Cut each face at PX pixels, then scale it to the image size, so every " +
        "face reaches the network at one resolution whatever its size in the picture (default: cut at the image size).")]
    public int? FaceResolution { get; init; }

    /// <summary>The options given, over <paramref name="basis"/> (a preset's face settings) or the defaults.</summary>
    public FaceSettings FaceSettings(FaceSettings? basis = null)
    {
        var given = basis ?? new FaceSettings();
        return new FaceSettings
        {
            Margin = Margin ?? given.Margin, MinSize = MinFace ?? given.MinSize, Model = FaceModel ?? given.Model,
            NoFace = NoFace ?? given.NoFace, Resolution = FaceResolution ?? given.Resolution,
        };
    }

    /// <summary>Whether any face option was given.</summary>
    protected bool SetsFaces =>
        Margin is not null || MinFace is not null || FaceModel is not null || NoFace is not null || FaceResolution is not null;
}
