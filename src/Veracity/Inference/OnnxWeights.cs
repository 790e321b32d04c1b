using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Onnx;

namespace Veracity.Inference;

/// <summary>How an exported model stores its weights, as its <see cref="OnnxWeights.MetadataKey"/> metadata records it.</summary>
/// <param name="Storage">"float16" or "int8" (a model without the key stores float32).</param>
/// <param name="Details">What was done, in words (the quantisation scheme and its calibration).</param>
/// <param name="Check">For int8: the AUC check the export passed.</param>
public sealed record WeightStorage(string Storage, string? Details = null, QuantisationCheck? Check = null);

/// <summary>The AUC of the float32 and int8 models on the same pictures, which the int8 export had to keep within <see cref="MaxChange"/>.</summary>
public sealed record QuantisationCheck(string Labels, int Pictures, double Float32Auc, double Int8Auc, double MaxChange);

/// <summary>
/// Graph transforms of an exported model's weights (<see cref="OnnxExport"/>). Each keeps the tensor names the nodes
/// read, so the rest of the graph is untouched.
/// </summary>
public static class OnnxWeights
{
    public const string MetadataKey = "veracity.weights";

    /// <summary>
    /// Stores every float initializer as float16, each read through a Cast to float: ONNX Runtime folds the casts when
    /// it loads the model and runs float32 on the rounded weights, and the file is about half the size (resnet18 with
    /// blocks [2,2,2,3]: 63.6 MB → 31.8 MB). Each weight moves by at most 2^-11 of itself (2^-25 below float16's normal range).
    /// </summary>
    /// <param name="name">The model's file, for messages.</param>
    public static byte[] ToFloat16(byte[] onnx, string name)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var graph = model.Graph;
        var casts = new List<NodeProto>();
        foreach (var initializer in graph.Initializer.Where(i => i.DataType == (int)TensorProto.Types.DataType.Float).ToList())
        {
            string stored = $"{initializer.Name}.float16";
            graph.Initializer[graph.Initializer.IndexOf(initializer)] = Float16(initializer, stored, name);
            var cast = new NodeProto { OpType = "Cast", Name = $"Cast_{stored}" };
            cast.Input.Add(stored);
            cast.Output.Add(initializer.Name);
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (int)TensorProto.Types.DataType.Float });
            casts.Add(cast);
        }
        for (int i = casts.Count - 1; i >= 0; i--) graph.Node.Insert(0, casts[i]); // before every reader: nodes are in topological order
        Record(model, new WeightStorage("float16", "every float initializer stored as float16 and cast to float32 at load"));
        return model.ToByteArray();
    }

    static TensorProto Float16(TensorProto initializer, string storedName, string name)
    {
        float[] values = Floats(initializer);
        var halves = new Half[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            halves[i] = (Half)values[i];
            if (Half.IsInfinity(halves[i]) && float.IsFinite(values[i]))
                throw new VeracityException($"{name}: weight {initializer.Name} holds {values[i]}, beyond float16's range (±65504)");
        }
        var stored = new TensorProto { Name = storedName, DataType = (int)TensorProto.Types.DataType.Float16 };
        stored.Dims.AddRange(initializer.Dims);
        stored.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
        return stored;
    }

    /// <summary>A float initializer's values (<see cref="OnnxExport"/> writes them as raw little-endian data).</summary>
    internal static float[] Floats(TensorProto tensor) =>
        tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : tensor.FloatData.ToArray();

    /// <summary>Sets the model's <see cref="MetadataKey"/> entry.</summary>
    internal static void Record(ModelProto model, WeightStorage storage)
    {
        var entry = model.MetadataProps.FirstOrDefault(p => p.Key == MetadataKey);
        if (entry is null) model.MetadataProps.Add(entry = new StringStringEntryProto { Key = MetadataKey });
        entry.Value = JsonSerializer.Serialize(storage);
    }

    /// <summary>How a model file stores its weights: its <see cref="MetadataKey"/> entry, else float32.</summary>
    public static WeightStorage Read(byte[] onnx)
    {
        string? json = ModelProto.Parser.ParseFrom(onnx).MetadataProps.FirstOrDefault(p => p.Key == MetadataKey)?.Value;
        return json is null ? new WeightStorage("float32") : JsonSerializer.Deserialize<WeightStorage>(json)!;
    }
}
