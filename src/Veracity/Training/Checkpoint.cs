using System.Text;
using System.Text.Json;
using Veracity.Data;
using Veracity.Evaluation;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Training;

/// <summary>Where the training data came from, so a run can be resumed from its folder alone.</summary>
public sealed record TrainData(string TrainLabels, string TrainImages, string? ValLabels, string? ValImages, double ValFraction);

/// <summary>Validation figures after one epoch, as written to metrics.jsonl.</summary>
/// <remarks>ValLoss (mean cross-entropy of the softmax) and ValLogLoss are the same figure under both names the tools use.</remarks>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double LearningRate, double ImagesPerSecond,
    double ValLoss, double ValAccuracy, double? ValAuc, double? ValAp, double? ValEer, double? EerThreshold, double ValLogLoss);

/// <summary>Running sums of the epoch in progress, kept so a mid-epoch resume reports the same averages.</summary>
public sealed record EpochProgress(double LossSum, double Correct, int Seen);

/// <summary>Everything a checkpoint says about itself besides the weights.</summary>
public sealed record CheckpointInfo
{
    public const int CurrentFormat = 1;
    public static readonly string[] ClassOrder = ["real", "deepfake"];

    public int Format { get; init; } = CurrentFormat;
    public required string Backbone { get; init; }
    public required int ImageSize { get; init; }
    public required Normalize Normalize { get; init; }
    public string[] Classes { get; init; } = ClassOrder;
    /// <summary>Where the starting weights came from ("none: random initialisation" for untrained backbones).</summary>
    public required string InitialWeights { get; init; }
    public required TrainConfig Config { get; init; }
    public TrainData? Data { get; init; }
    /// <summary>The epoch in progress (or, with <see cref="NextBatch"/> 0, the next to start).</summary>
    public int Epoch { get; init; }
    public int NextBatch { get; init; }
    public EpochProgress? Progress { get; init; }
    public double? BestScore { get; init; }
    public EpochMetrics? Metrics { get; init; }
    /// <summary>The decision threshold for a verdict: the validation EER threshold, else 0.5.</summary>
    public double Threshold { get; init; } = BinaryMetrics.DecisionThreshold;
    public DateTime SavedAt { get; init; } = DateTime.UtcNow;
}

/// <summary>
/// One file holding a model, its description and (for resuming) the optimiser state. Written to a temporary file
/// and renamed, so a crash never leaves a half-written checkpoint.
/// </summary>
public static class Checkpoint
{
    static readonly byte[] Magic = "VERACITY-CKPT\n"u8.ToArray();
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void Save(string path, CheckpointInfo info, nn.Module model, TorchSharp.Modules.OptimizerHelper? optimizer = null) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(JsonSerializer.Serialize(info, Json));
            model.save(writer);
            writer.Write(optimizer is not null);
            optimizer?.save_state_dict(writer);
        });

    /// <summary>Reads only the description (fast; no weights are built).</summary>
    public static CheckpointInfo ReadInfo(string path)
    {
        using var reader = Open(path);
        return ReadInfo(reader, path);
    }

    /// <summary>Builds the model the checkpoint describes and loads its weights; restores the optimiser when given.</summary>
    public static (CheckpointInfo Info, nn.Module<Tensor, Tensor> Model) Load(string path, Func<nn.Module<Tensor, Tensor>, TorchSharp.Modules.OptimizerHelper>? optimizerFor = null)
    {
        using var reader = Open(path);
        var info = ReadInfo(reader, path);
        var model = Backbones.Create(info.Backbone, pretrained: false);
        try
        {
            model.load(reader, strict: true);
        }
        catch (Exception e) when (e is not VeracityException)
        {
            model.Dispose();
            throw new VeracityException($"{path}: the weights do not fit the '{info.Backbone}' backbone ({e.Message})", e);
        }
        if (optimizerFor is not null)
        {
            if (!reader.ReadBoolean())
                throw new VeracityException($"{path}: holds no optimiser state, so training cannot resume from it");
            optimizerFor(model).load_state_dict(reader);
        }
        return (info, model);
    }

    static BinaryReader Open(string path)
    {
        if (!File.Exists(path)) throw new VeracityException($"checkpoint not found: {path}");
        var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        var magic = reader.ReadBytes(Magic.Length);
        if (!magic.AsSpan().SequenceEqual(Magic))
        {
            reader.Dispose();
            throw new VeracityException($"{path} is not a Veracity checkpoint");
        }
        return reader;
    }

    static CheckpointInfo ReadInfo(BinaryReader reader, string path)
    {
        CheckpointInfo info;
        try
        {
            info = JsonSerializer.Deserialize<CheckpointInfo>(reader.ReadString(), Json)
                ?? throw new VeracityException($"{path}: empty checkpoint description");
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException)
        {
            throw new VeracityException($"{path}: the checkpoint description is damaged ({e.Message})", e);
        }
        if (info.Format != CheckpointInfo.CurrentFormat)
            throw new VeracityException($"{path}: checkpoint format {info.Format}, this Veracity reads format {CheckpointInfo.CurrentFormat}");
        if (!info.Classes.SequenceEqual(CheckpointInfo.ClassOrder))
            throw new VeracityException($"{path}: classes are [{string.Join(", ", info.Classes)}], expected [real, deepfake]");
        Backbones.Get(info.Backbone);
        if (info.ImageSize < 32 || info.ImageSize % 32 != 0)
            throw new VeracityException($"{path}: image size {info.ImageSize} is not a multiple of 32");
        return info;
    }
}
