using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Veracity.Data;
using Veracity.Models;
using Veracity.Training;
using static TorchSharp.torch;

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
        model.eval();
        var spec = Models.Backbones.Get(info.Backbone);
        if (engine == Engine.Auto) engine = Fastest(spec);
        if (engine == Engine.TorchBf16)
        {
            if (!spec.SupportsBFloat16 || model is not ResNet resnet)
                throw new VeracityException($"{path}: the bfloat16 engine runs {string.Join(", ", Models.Backbones.All.Where(b => b.SupportsBFloat16).Select(b => b.Name))} only");
            resnet.BFloat16 = true;
        }
        if (engine is Engine.Torch or Engine.TorchBf16)
            return new Detector(info, model, null);
        using (model)
            return new Detector(info, null, OpenSession(OnnxExport.ToBytes(info, model), path));
    }

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

    public float[] Score(Tensor images, int tta = 1) => Score(Logits, images, tta);

    /// <summary>Scores with a TorchSharp network directly (validation during training).</summary>
    public static float[] Score(nn.Module<Tensor, Tensor> model, Tensor images, int tta = 1) => Score(model.call, images, tta);

    /// <summary>
    /// The deepfake probability (softmax of class 1) of each image, averaged over <paramref name="tta"/> views:
    /// the plain image first, then horizontal, vertical and both flips, repeating.
    /// </summary>
    static float[] Score(Func<Tensor, Tensor> logits, Tensor images, int tta)
    {
        if (tta < 1) throw new VeracityException("--tta must be at least 1");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var views = Enumerable.Range(0, tta).Select(pass => nn.functional.softmax(logits(View(images, pass)), 1)[.., 1]).ToArray();
        return stack(views).mean([0]).to(ScalarType.Float32).data<float>().ToArray();
    }

    /// <remarks>ONNX Runtime reads the batch straight from libtorch's buffer: no managed copy per batch.</remarks>
    unsafe Tensor Logits(Tensor images)
    {
        if (_model is not null) return _model.call(images);
        var batch = images.contiguous();
        var pixels = batch.bytes;
        fixed (byte* data = pixels)
        {
            using var input = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float,
                batch.shape, (IntPtr)data, pixels.Length);
            using var options = new RunOptions();
            using var outputs = _session!.Run(options, [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
            var logits = outputs[0];
            return tensor(logits.GetTensorDataAsSpan<float>().ToArray(), logits.GetTensorTypeAndShape().Shape);
        }
    }

    static Tensor View(Tensor images, int pass) => (pass % 4) switch
    {
        0 => images,
        1 => images.flip(3),
        2 => images.flip(2),
        _ => images.flip(2, 3),
    };

    public void Dispose()
    {
        _model?.Dispose();
        _session?.Dispose();
    }
}
