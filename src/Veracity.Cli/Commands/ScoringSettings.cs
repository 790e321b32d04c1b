using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Veracity.Cli.Commands;

/// <summary>How a trained model scores pictures: the options that predict, evaluate, score, demo and serve share.</summary>
public class ScoringSettings : CommandSettings
{
    [CommandOption("--tta <N>"), Description("Test-time augmentation views: 1 = plain image; then flips. The score is their mean. " +
        "Default: the model's own (4 for the generalise preset, else 1).")]
    public int? Tta { get; init; }

    [CommandOption("--engine <NAME>"), Description("auto (resnet18 in bfloat16 on CPUs with AMX, else ONNX Runtime " +
        "where the backbone exports, else TorchSharp), torch, onnx or torchbf16.")]
    public string EngineName { get; init; } = "auto";

    [CommandOption("--faces"), Description("Score the faces in each picture (the picture's score is its most suspicious face's). " +
        "A checkpoint trained on faces does this by itself.")]
    public bool Faces { get; init; }

    [CommandOption("--no-faces"), Description("Score whole pictures even with a checkpoint trained on faces.")]
    public bool NoFaces { get; init; }

    /// <summary>true: score faces; false: whole pictures; null: as the checkpoint was trained.</summary>
    public bool? UseFaces => Faces ? true : NoFaces ? false : null;

    public Inference.Engine Engine => Enum.Parse<Inference.Engine>(EngineName, ignoreCase: true);

    /// <summary>The engines by name; matched whole, since Enum.Parse would also take a list such as "torch,onnx".</summary>
    static readonly string[] EngineNames = Enum.GetNames<Inference.Engine>().Select(n => n.ToLowerInvariant()).ToArray();

    public override ValidationResult Validate() =>
        Tta is < 1 or > Models.Scoring.MaxViews ? ValidationResult.Error($"--tta must be 1 to {Models.Scoring.MaxViews} (the plain picture and its flips)")
        : Faces && NoFaces ? ValidationResult.Error("--faces and --no-faces contradict each other")
        : !EngineNames.Contains(EngineName.ToLowerInvariant()) ? ValidationResult.Error($"--engine must be one of {string.Join(", ", EngineNames)}")
        : ValidationResult.Success();
}
