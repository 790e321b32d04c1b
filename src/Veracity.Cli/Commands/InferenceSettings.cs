using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Veracity.Cli.Commands;

/// <summary>Which model runs on which engine, and how images are scored: what evaluate, predict and demo pass around.</summary>
/// <param name="Faces">true: score faces; false: whole pictures; null: as the checkpoint was trained.</param>
/// <param name="Models">One model, or several whose scores are averaged (where the command allows it).</param>
public sealed record InferenceOptions(IReadOnlyList<string> Models, Inference.Engine Engine, Inference.ScoringOptions Scoring, bool? Faces = null);

/// <summary>Options shared by the commands that run a trained model over files.</summary>
public class InferenceSettings : ScoringSettings
{
    [CommandOption("--model <CKPT>"), Description("A checkpoint written by train (best.ckpt) or an exported .onnx model; without " +
        "it, the built-in detector (veracity models --card says what it was trained on). predict and evaluate take several " +
        "(--model a --model b) and average their scores.")]
    public string[] Models { get; init; } = [];

    /// <summary>The models to run: those given, else the built-in detector (its file checked against its sha256).</summary>
    public IReadOnlyList<string> ModelPaths => _paths ??= Models.Length > 0 ? Models : [Inference.BuiltInModel.Read().Verified()];
    IReadOnlyList<string>? _paths;

    /// <summary>Whether the built-in detector runs (no --model given).</summary>
    public bool UsesBuiltIn => Models.Length == 0;

    /// <summary>The one model (commands that do not average several).</summary>
    public string Model => ModelPaths[0];

    /// <summary>Whether the command averages several models' scores (else it takes one).</summary>
    protected virtual bool AveragesModels => false;

    [CommandOption("--window <PIXELS>"), Description("Score each picture's most suspicious PIXELS×PIXELS window (a grid with stride " +
        "PIXELS/4) instead of the whole picture, as a model trained with --crop PIXELS saw them. TorchSharp engines only.")]
    public int Window { get; init; }

    [CommandOption("--batch-size <N>")]
    public int BatchSize { get; init; } = 32;

    [CommandOption("--workers <N>"), Description("Decoding threads.")]
    public int Workers { get; init; } = 2;

    public InferenceOptions Options => new(ModelPaths, Engine, new Inference.ScoringOptions(Tta, BatchSize, Workers, Window),
        UseFaces);

    public override ValidationResult Validate() =>
        Models.Any(string.IsNullOrEmpty) ? ValidationResult.Error("--model needs a file")
        : Models.Length > 1 && !AveragesModels ? ValidationResult.Error("--model is taken once here; predict and evaluate average several")
        : Window < 0 ? ValidationResult.Error("--window must be a size in pixels (0: the whole picture)")
        : BatchSize < 1 ? ValidationResult.Error("--batch-size must be at least 1")
        : base.Validate();
}
