using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Veracity.Checkpoints;

namespace Veracity.Inference;

/// <summary>
/// A model repository for NVIDIA Triton Inference Server: <c>DIR/NAME/config.pbtxt</c> for its <c>onnxruntime</c>
/// backend and <c>DIR/NAME/1/model.onnx</c>. The config's inputs and outputs (names, types, shapes) are read from the
/// model as ONNX Runtime loads it, as Triton's backend will (its shape inference fixes the evidence map's cells, which
/// the graph leaves symbolic), so they cannot drift from the export; the preprocessing a client must do before sending a
/// picture comes from the checkpoint, as comments for people and <c>veracity_*</c> parameters for programs.
/// </summary>
public static class TritonRepository
{
    public const string ConfigFile = "config.pbtxt", ModelFile = "model.onnx", Version = "1";

    /// <summary>How long the first request of a batch waits for others, as <c>serve --max-wait-ms</c>'s default (10 ms).</summary>
    public const int MaxQueueDelayMicroseconds = 10_000;

    /// <summary>Writes the repository's model folder (each file atomically) and returns its path.</summary>
    public static string Write(string directory, string name, byte[] onnx, CheckpointInfo info, string source, int maxBatch)
    {
        string folder = Path.Combine(directory, name);
        AtomicFile.WriteAllBytes(Path.Combine(folder, Version, ModelFile), onnx);
        AtomicFile.WriteAllBytes(Path.Combine(folder, ConfigFile), Encoding.UTF8.GetBytes(Config(name, onnx, info, source, maxBatch)));
        return folder;
    }

    /// <summary>The config.pbtxt (Triton's model configuration in protobuf text format) of an exported model.</summary>
    public static string Config(string name, byte[] onnx, CheckpointInfo info, string source, int maxBatch)
    {
        if (maxBatch < 1) throw new VeracityException($"Triton's max_batch_size must be at least 1, not {maxBatch}");
        using var session = new InferenceSession(onnx);
        var norm = info.Normalize;
        string Floats(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        int size = info.ImageSize, views = info.Config.TestViews;
        string threshold = info.Threshold.ToString("R", CultureInfo.InvariantCulture);
        string faces = info.Config.Faces is null
            ? "no: the whole picture"
            : $"yes: each face found by BlazeFace, aligned to Veracity's template with margin {info.Config.Faces.Margin.ToString(CultureInfo.InvariantCulture)} " +
              "and cut square; the picture's score is its most suspicious face's (src/Veracity/Faces)";

        var config = new StringBuilder();
        void Line(string text = "") => config.Append(text).Append('\n');
        Line($"# Veracity deepfake detector for Triton Inference Server, written by `veracity export --triton` from {Path.GetFileName(source)}:");
        Line($"# {info.Backbone}, {size} px input. Triton runs the network only; a client prepares each picture as Veracity does:");
        Line("#   decode to 8-bit RGB with the EXIF orientation applied (alpha dropped, grey and CMYK converted);");
        Line($"#   resize the whole picture to {size} x {size} px, stretched (aspect ratio not kept), bilinear;");
        Line($"#   channel order {norm.Order.ToString().ToUpperInvariant()}; value = (pixel * {norm.Scale.ToString("R", CultureInfo.InvariantCulture)} - mean[c]) / std[c],");
        Line($"#     mean [{Floats(norm.Mean)}], std [{Floats(norm.Std)}] in that channel order;");
        Line($"#   lay the values out as channels x rows x columns, float32: the input '{OnnxExport.InputName}' below, a batch of pictures.");
        Line($"# Faces: {faces}.");
        if (info.Config.Reencode is { } reencode)
            Line($"# Trained behind a re-encoding: scale the picture's longer side to at most {reencode.LongSide} px and save it as JPEG quality {reencode.Quality} before the above.");
        Line($"# Output '{OnnxExport.OutputName}': [{string.Join(", ", info.Classes)}]; softmax(logits)[1] is the deepfake probability, a deepfake at >= {threshold}");
        Line("#   (the checkpoint's validation equal-error-rate threshold).");
        Line(views == 1
            ? "# Test-time views: 1, the picture as it is."
            : $"# Test-time views: {views}: the picture, then flipped left-right, upside down and both, in turn; send each and average the probabilities.");
        Line($"# Output '{OnnxExport.EvidenceName}': the deepfake class activation map over the input's cells, for heatmaps (veracity serve's /api/v1/explain).");
        Line($"name: \"{name}\"");
        Line("backend: \"onnxruntime\"");
        Line($"max_batch_size: {maxBatch}");
        Tensors("input", session.InputMetadata, withFormat: true);
        Tensors("output", session.OutputMetadata, withFormat: false);
        Line("dynamic_batching {");
        Line($"  max_queue_delay_microseconds: {MaxQueueDelayMicroseconds}");
        Line("}");
        Parameter("veracity_image_size", size.ToString(CultureInfo.InvariantCulture));
        Parameter("veracity_channel_order", norm.Order.ToString().ToLowerInvariant());
        Parameter("veracity_scale", norm.Scale.ToString("R", CultureInfo.InvariantCulture));
        Parameter("veracity_mean", Floats(norm.Mean));
        Parameter("veracity_std", Floats(norm.Std));
        Parameter("veracity_faces", info.Config.Faces is null ? "false" : "true");
        Parameter("veracity_test_views", views.ToString(CultureInfo.InvariantCulture));
        Parameter("veracity_threshold", threshold);
        return config.ToString();

        void Tensors(string kind, IReadOnlyDictionary<string, NodeMetadata> tensors, bool withFormat)
        {
            Line($"{kind} [");
            foreach (var ((tensorName, tensor), k) in tensors.Select((pair, k) => ((pair.Key, pair.Value), k)))
            {
                if (tensor.Dimensions is not [-1, ..])
                    throw new VeracityException($"Triton batches on the first dimension, but the ONNX {kind} '{tensorName}' has a fixed one");
                Line("  {");
                Line($"    name: \"{tensorName}\"");
                Line($"    data_type: {TritonType(tensorName, tensor)}");
                if (withFormat) Line("    format: FORMAT_NCHW");
                // Triton's dims leave out the batch dimension; -1 is a size the model takes any of.
                Line($"    dims: [ {string.Join(", ", tensor.Dimensions.Skip(1))} ]");
                Line(k < tensors.Count - 1 ? "  }," : "  }");
            }
            Line("]");
        }

        void Parameter(string key, string value)
        {
            Line("parameters {");
            Line($"  key: \"{key}\"");
            Line($"  value: {{ string_value: \"{value}\" }}");
            Line("}");
        }
    }

    /// <summary>Triton's name for an ONNX tensor's element type; the export writes float32 only.</summary>
    static string TritonType(string name, NodeMetadata tensor) =>
        tensor.ElementType == typeof(float)
            ? "TYPE_FP32"
            : throw new VeracityException($"the ONNX tensor '{name}' holds {tensor.ElementType.Name}, which the Triton config does not map");
}
