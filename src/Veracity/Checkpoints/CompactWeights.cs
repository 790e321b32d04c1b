using TorchSharp;
using static TorchSharp.torch;

namespace Veracity.Checkpoints;

/// <summary>
/// A model's weights stored small, for a model that ships in the repository: each convolution and linear weight as
/// int8 with one float32 scale per output channel (symmetric: the channel's largest magnitude maps to 127), everything
/// else (biases, batch-norm statistics and counters) as it is. resnet18 with blocks [2,2,2,3] holds 15.9 M weights: 63.6 MB
/// as float32, 31.8 MB as float16 (over the 25 MB a shipped model may take), 16 MB so. A weight moves by at most half
/// its channel's step, 1/254 of the channel's largest magnitude.
/// </summary>
public static class CompactWeights
{
    enum Kind : byte { Exact = 0, Int8PerChannel = 1 }

    /// <summary>Whether a tensor is stored as int8: a floating-point weight with an output-channel axis.</summary>
    static bool Quantised(Tensor tensor) => tensor.is_floating_point() && tensor.dim() >= 2;

    public static void Write(BinaryWriter writer, nn.Module model)
    {
        var entries = model.state_dict();
        writer.Write(entries.Count);
        foreach (var (name, value) in entries)
        {
            using var scope = NewDisposeScope();
            writer.Write(name);
            var tensor = value.detach().cpu();
            writer.Write((int)tensor.dim());
            foreach (long size in tensor.shape) writer.Write(size);
            if (!Quantised(tensor))
            {
                writer.Write((byte)Kind.Exact);
                writer.Write((byte)tensor.dtype);
                writer.Write(tensor.contiguous().bytes);
                continue;
            }
            writer.Write((byte)Kind.Int8PerChannel);
            var (scales, quantised) = Quantise(tensor);
            writer.Write(scales.contiguous().bytes);
            writer.Write(quantised.contiguous().bytes);
        }
    }

    /// <summary>Per output channel: scale = max |w| / 127 (1 for an all-zero channel), q = round(w / scale) in [-127, 127].</summary>
    public static (Tensor Scales, Tensor Quantised) Quantise(Tensor weight)
    {
        using Scalar levels = 127.0.ToScalar(), zero = 0.0.ToScalar(), lowest = (-127.0).ToScalar();
        var flat = weight.to(ScalarType.Float64).reshape(weight.shape[0], -1);
        var scales = flat.abs().amax([1]).div(levels);
        scales = scales.where(scales.gt(zero), ones_like(scales));
        var quantised = flat.div(scales.unsqueeze(1)).round().clamp(lowest, levels).to(ScalarType.Int8);
        return (scales.to(ScalarType.Float32), quantised.reshape(weight.shape));
    }

    /// <summary>Reads what <see cref="Write"/> wrote into <paramref name="model"/>'s own tensors, by name and shape.</summary>
    public static void Read(BinaryReader reader, nn.Module model, string path)
    {
        var entries = model.state_dict();
        int count = reader.ReadInt32();
        if (count != entries.Count) throw new VeracityException($"{path}: {count} stored tensors for a model of {entries.Count}");
        using var noGrad = no_grad();
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            string name = reader.ReadString();
            var shape = new long[reader.ReadInt32()];
            for (int d = 0; d < shape.Length; d++) shape[d] = reader.ReadInt64();
            if (!entries.TryGetValue(name, out var target) || !target.shape.SequenceEqual(shape))
                throw new VeracityException($"{path}: stored tensor '{name}' [{string.Join(", ", shape)}] does not fit the model");
            long elements = shape.Aggregate(1L, (a, b) => a * b);
            Tensor value;
            if ((Kind)reader.ReadByte() == Kind.Exact)
            {
                var dtype = (ScalarType)reader.ReadByte();
                value = empty(shape, dtype);
                value.bytes = reader.ReadBytes(checked((int)(elements * value.ElementSize)));
            }
            else
            {
                var scales = empty([shape[0]], ScalarType.Float32);
                scales.bytes = reader.ReadBytes(checked((int)shape[0] * 4));
                var quantised = empty(shape, ScalarType.Int8);
                quantised.bytes = reader.ReadBytes(checked((int)elements));
                value = quantised.to(ScalarType.Float32).reshape(shape[0], -1).mul(scales.unsqueeze(1)).reshape(shape);
            }
            target.copy_(value);
        }
    }
}
