using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Veracity.Cli.Commands;

/// <summary>Which model runs on which engine, and how images are scored: what evaluate, predict and demo pass around.</summary>
/// <param name="Faces">true: score faces; false: whole pictures; null: as the checkpoint was trained.</param>
/// <param name="Models">One model, or several whose scores are averaged (where the command allows it).</param>
public sealed record InferenceOptions(IReadOnlyList<string> Models, Inference.Engine Engine, Inference.ScoringOptions Scoring, bool? Faces = null);

/// <summary>Options shared by the commands that run a trained model.</summary>
public class InferenceSettings : CommandSettings
{
    [CommandOption("--model <CKPT>"), Description("A checkpoint written by train (best.ckpt). predict and evaluate take several " +
        "(--model a --model b) and average their scores.")]
    public string[] Models { get; init; } = [];

    /// <summary>The one model (commands that do not average several).</summary>
    public string Model => Models.FirstOrDefault() ?? "";

    /// <summary>Whether the command averages several models' scores (else it takes one).</summary>
    protected virtual bool AveragesModels => false;

    [CommandOption("--tta <N>"), Description("Test-time augmentation views: 1 = plain image; then flips. The score is their mean. " +
        "Default: the model's own (4 for the generalise preset, else 1).")]
    public int? Tta { get; init; }

    [CommandOption("--window <PIXELS>"), Description("Score each picture's most suspicious PIXELS×PIXELS window (a grid with stride " +
        "PIXELS/4) instead of the whole picture, as a model trained with --crop PIXELS saw them. TorchSharp engines only.")]
    public int Window { get; init; }

    [CommandOption("--batch-size <N>")]
    public int BatchSize { get; init; } = 32;

    [CommandOption("--workers <N>"), Description("Decoding threads.")]
    public int Workers { get; init; } = 2;

    [CommandOption("--engine <NAME>"), Description("auto (resnet18 in bfloat16 on CPUs with AMX, else ONNX Runtime " +
        "where the backbone exports, else TorchSharp), torch, onnx or torchbf16.")]
    public string EngineName { get; init; } = "auto";

    [CommandOption("--faces"), Description("Score the faces in each picture (the picture's score is its most suspicious face's). " +
        "A checkpoint trained on faces does this by itself.")]
    public bool Faces { get; init; }

    [CommandOption("--no-faces"), Description("Score whole pictures even with a checkpoint trained on faces.")]
    public bool NoFaces { get; init; }

    public Inference.Engine Engine => Enum.Parse<Inference.Engine>(EngineName, ignoreCase: true);

    public InferenceOptions Options => new(Models, Engine, new Inference.ScoringOptions(Tta, BatchSize, Workers, Window),
        Faces ? true : NoFaces ? false : null);

    static readonly string[] EngineNames = Enum.GetNames<Inference.Engine>().Select(n => n.ToLowerInvariant()).ToArray();

    public override ValidationResult Validate() =>
        Models.Length == 0 || Models.Any(string.IsNullOrEmpty) ? ValidationResult.Error("--model is required")
        : Models.Length > 1 && !AveragesModels ? ValidationResult.Error("--model is taken once here; predict and evaluate average several")
        : Tta < 1 ? ValidationResult.Error("--tta must be at least 1")
        : Window < 0 ? ValidationResult.Error("--window must be a size in pixels (0: the whole picture)")
        : BatchSize < 1 ? ValidationResult.Error("--batch-size must be at least 1")
        : Faces && NoFaces ? ValidationResult.Error("--faces and --no-faces contradict each other")
        : !EngineNames.Contains(EngineName.ToLowerInvariant()) ? ValidationResult.Error($"--engine must be one of {string.Join(", ", EngineNames)}")
        : ValidationResult.Success();
}
