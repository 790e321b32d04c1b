using System.Text;
using System.Text.Json;
using Veracity.Data;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Checkpoints;

/// <summary>
/// One file holding a model, its description and (for resuming) the optimiser state. Written to a temporary file
/// and renamed, so a crash never leaves a half-written checkpoint.
/// </summary>
public static class Checkpoint
{
    static readonly byte[] Magic = "VERACITY-CKPT\n"u8.ToArray();
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <param name="average">
    /// The weight average a resumed run continues (<see cref="TrainConfig.EmaDecay"/>, <see cref="TrainConfig.AverageEpochs"/>),
    /// after the optimiser state.
    /// </param>
    public static void Save(string path, CheckpointInfo info, nn.Module model, TorchSharp.Modules.OptimizerHelper? optimizer = null,
        nn.Module? average = null) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(JsonSerializer.Serialize(info, Json));
            if (info.CompactWeights) Checkpoints.CompactWeights.Write(writer, model);
            else model.save(writer);
            writer.Write(optimizer is not null);
            optimizer?.save_state_dict(writer);
            if (average is null) return;
            writer.Write(true);
            average.save(writer);
        });

    /// <summary>
    /// A copy of a checkpoint for scoring and fine-tuning only: its weights stored compactly (<see cref="Checkpoints.CompactWeights"/>:
    /// resnet18 16 MB instead of 64), no optimiser state and no weight average.
    /// </summary>
    public static void CompactCopy(string from, string to)
    {
        var (info, model) = Load(from);
        using (model) Save(to, info with { CompactWeights = true }, model);
    }

    /// <summary>Reads only the description (fast; no weights are built).</summary>
    public static CheckpointInfo ReadInfo(string path)
    {
        using var reader = Open(path);
        return ReadInfo(reader, path);
    }

    /// <summary>
    /// Builds the model the checkpoint describes and loads its weights; restores the optimiser when given, and the
    /// weight average into <paramref name="average"/> when given.
    /// </summary>
    public static (CheckpointInfo Info, nn.Module<Tensor, Tensor> Model) Load(string path,
        Func<nn.Module<Tensor, Tensor>, TorchSharp.Modules.OptimizerHelper>? optimizerFor = null, nn.Module? average = null)
    {
        using var reader = Open(path);
        var info = ReadInfo(reader, path);
        var model = Backbones.Create(info.Backbone, pretrained: false, input: info.Config.Input, freeze: info.Config.Freeze);
        try
        {
            try
            {
                if (info.CompactWeights) Checkpoints.CompactWeights.Read(reader, model, path);
                else model.load(reader, strict: true);
            }
            catch (Exception e) when (e is not VeracityException)
            {
                throw new VeracityException($"{path}: the weights do not fit the '{info.Backbone}' backbone ({e.Message})", e);
            }
            if (optimizerFor is not null)
            {
                if (!reader.ReadBoolean())
                    throw new VeracityException($"{path}: holds no optimiser state, so training cannot resume from it");
                optimizerFor(model).load_state_dict(reader);
            }
            if (average is not null)
            {
                if (reader.BaseStream.Position == reader.BaseStream.Length || !reader.ReadBoolean())
                    throw new VeracityException($"{path}: holds no weight average, so training cannot resume from it");
                average.load(reader, strict: true);
            }
            return (info, model);
        }
        catch
        {
            model.Dispose(); // nothing else holds it yet
            throw;
        }
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
