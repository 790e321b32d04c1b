using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Veracity.Data;
using Veracity.Models;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Inference;

/// <summary>
/// What runs the network at inference time. Auto picks resnet18 in bfloat16 on CPUs with AMX, else ONNX Runtime
/// where the backbone can be exported, else TorchSharp in float32. AVX512-BF16 alone is not enough: bfloat16 was
/// 1.13× ONNX Runtime's speed on Zen 4 but 0.43× on Zen 5 (89.4 s against 38.2 s for the same 2,019 images), so
/// without AMX the engine that is never far behind wins.
/// </summary>
public enum Engine { Auto, Torch, Onnx, TorchBf16 }

/// <summary>A trained model ready to score images: its network (TorchSharp or ONNX Runtime), preprocessing and decision threshold.</summary>
public sealed class Detector : IDisposable
{
    readonly nn.Module<Tensor, Tensor>? _model;
    readonly InferenceSession? _session;

    Detector(CheckpointInfo info, nn.Module<Tensor, Tensor>? model, InferenceSession? session)
    {
        Info = info;
        _model = model;
        _session = session;
    }

    public CheckpointInfo Info { get; }
    public Engine Engine => _session is not null ? Engine.Onnx : _model is ResNet { BFloat16: true } ? Engine.TorchBf16 : Engine.Torch;
    /// <summary>The TorchSharp network (null when ONNX Runtime runs it).</summary>
    public nn.Module<Tensor, Tensor>? Model => _model;

    /// <summary>Loads a checkpoint (.ckpt) or an exported model (.onnx).</summary>
    public static Detector Load(string path, Engine engine = Engine.Auto)
    {
        if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (engine == Engine.Torch) throw new VeracityException($"{path} is an ONNX model: it runs on ONNX Runtime only");
            if (!File.Exists(path)) throw new VeracityException($"model not found: {path}");
            var session = OpenSession(File.ReadAllBytes(path), path);
            string json = session.ModelMetadata.CustomMetadataMap.GetValueOrDefault(OnnxExport.MetadataKey)
                ?? throw new VeracityException($"{path} was not exported by Veracity (no {OnnxExport.MetadataKey} metadata)");
            return new Detector(JsonSerializer.Deserialize<CheckpointInfo>(json)!, null, session);
        }

        var (info, model) = Checkpoint.Load(path);
        bool kept = false;
        try
        {
            model.eval();
            var spec = Models.Backbones.Get(info.Backbone);
            if (engine == Engine.Auto) engine = Fastest(spec);
            if (engine == Engine.TorchBf16)
            {
                if (!spec.SupportsBFloat16 || model is not ResNet resnet)
                    throw new VeracityException($"{path}: the bfloat16 engine runs " +
                                                $"{string.Join(", ", Models.Backbones.All.Where(b => b.SupportsBFloat16).Select(b => b.Name))} only");
                resnet.BFloat16 = true;
            }
            if (engine is Engine.Torch or Engine.TorchBf16)
            {
                kept = true;
                return new Detector(info, model, null);
            }
            return new Detector(info, null, OpenSession(OnnxExport.ToBytes(info, model), path));
        }
        finally
        {
            if (!kept) model.Dispose(); // ONNX Runtime holds its own copy of the weights; a failure frees it too
        }
    }

    /// <summary>What <see cref="Engine.Auto"/> becomes for a backbone on this CPU.</summary>
    public static Engine Fastest(Models.BackboneSpec spec) =>
        spec.SupportsBFloat16 && CpuInfo.Current.HasAmx ? Engine.TorchBf16
        : spec.OnnxExportable ? Engine.Onnx
        : Engine.Torch;

    static InferenceSession OpenSession(byte[] onnx, string path)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Environment.ProcessorCount,
        };
        try
        {
            return new InferenceSession(onnx, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new VeracityException($"{path}: ONNX Runtime cannot load the model ({e.Message})", e);
        }
    }

    public SampleTransform Transform => SampleTransform.Evaluation(Info.ImageSize, Info.ImageSize, Info.Normalize);

    /// <summary>The deepfake probability of each image, averaged over <paramref name="tta"/> views (<see cref="Scoring"/>).</summary>
    public float[] Score(Tensor images, int tta = 1) => Scoring.FakeProbabilities(Logits, images, tta);

    /// <remarks>ONNX Runtime reads the batch straight from libtorch's buffer: no managed copy per batch.</remarks>
    unsafe Tensor Logits(Tensor images)
    {
        if (_model is not null) return _model.call(images);
        var batch = images.contiguous();
        var pixels = batch.bytes;
        fixed (byte* data = pixels)
        {
            using var input = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance,
                Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, batch.shape, (IntPtr)data, pixels.Length);
            using var options = new RunOptions();
            using var outputs = _session!.Run(options, [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
            var logits = outputs[0];
            return tensor(logits.GetTensorDataAsSpan<float>().ToArray(), logits.GetTensorTypeAndShape().Shape);
        }
    }

    public void Dispose()
    {
        _model?.Dispose();
        _session?.Dispose();
    }
}
