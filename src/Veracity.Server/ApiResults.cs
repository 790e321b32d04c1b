using Veracity.Checkpoints;
using Veracity.Imaging;
using Veracity.Inference;

namespace Veracity.Server;

/// <summary>
/// One scored image, as <c>POST /api/v1/score</c> answers (JSON names are snake_case). On faces, the image's
/// probability is its most suspicious face's, and <see cref="Faces"/> lists them (empty when no face was usable and
/// the whole picture was scored); null when the server scores whole pictures.
/// </summary>
public sealed record ScoreResult(string Name, double FakeProbability, string Verdict, double Threshold, int Width, int Height,
    double ElapsedMs, IReadOnlyList<ScoredFace>? Faces = null)
{
    public static string VerdictOf(double probability, double threshold) => probability >= threshold ? "deepfake" : "real";
}

public sealed record ScoreResponse(IReadOnlyList<ScoreResult> Results);

/// <summary>The class activation map, rows top to bottom over the network's input (positive = towards deepfake).</summary>
public sealed record EvidenceMap(int Width, int Height, float[][] Values)
{
    public static EvidenceMap Of(Explanation explanation) => new(explanation.Width, explanation.Height,
        Enumerable.Range(0, explanation.Height).Select(y => explanation.Evidence[(y * explanation.Width)..((y + 1) * explanation.Width)]).ToArray());
}

/// <summary>
/// <c>POST /api/v1/explain?format=json</c>: the score, the raw map and the overlay as base64 PNG; on faces, the face explained
/// (the most suspicious).
/// </summary>
public sealed record ExplainResponse(string Name, double FakeProbability, string Verdict, double Threshold, int Width, int Height,
    double ElapsedMs, EvidenceMap Map, string OverlayPng, ScoredFace? Face = null);

/// <summary>The best epoch's validation figures.</summary>
public sealed record ValidationSummary(int Epoch, double? Auc, double? AveragePrecision, double? Eer, double Accuracy, double LogLoss);

/// <summary>How the model was trained, without local paths.</summary>
public sealed record TrainingSummary(string Preset, int Epochs, int ImageSize, double LearningRate, string Optimizer, string Precision,
    string? TrainLabels, string? ValLabels, double? ValFraction);

/// <summary><c>GET /api/v1/model</c>: what the server runs and how well it did on validation.</summary>
public sealed record ModelCard(string Backbone, int ImageSize, string Engine, double Threshold, Normalize Normalize, string InitialWeights,
    TrainingSummary Training, ValidationSummary? Validation, bool Heatmaps, Faces.FaceSettings? Faces, DateTime SavedAt,
    string? TrainedOn = null, string? NotReliableOn = null)
{
    public static ModelCard Of(Detector detector, Faces.FaceSettings? faces, BuiltInModel? builtIn)
    {
        var info = detector.Info;
        var config = info.Config;
        return new ModelCard(info.Backbone, info.ImageSize, detector.Engine.ToString().ToLowerInvariant(), info.Threshold, info.Normalize,
            info.InitialWeights,
            new TrainingSummary(config.Preset, config.Epochs, config.ImageSize, config.LearningRate, config.Optimizer.ToString(),
                config.Precision.ToString(), info.Data is null ? null : Path.GetFileName(info.Data.TrainLabels),
                info.Data?.ValLabels is { } val ? Path.GetFileName(val) : null, info.Data?.ValLabels is null ? info.Data?.ValFraction : null),
            info.Metrics is { } m ? new ValidationSummary(m.Epoch, m.ValAuc, m.ValAp, m.ValEer, m.ValAccuracy, m.ValLogLoss) : null,
            detector.CanExplain, faces, info.SavedAt, builtIn?.TrainedOn, builtIn?.NotReliableOn);
    }
}
