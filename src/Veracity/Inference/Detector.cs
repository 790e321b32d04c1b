using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Models;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Inference;

/// <summary>
/// What runs the network at inference time. Auto is the fastest engine that is correct on this CPU, measured once
/// per machine and network (<see cref="EngineChoice"/>).
/// </summary>
public enum Engine { Auto, Torch, Onnx, TorchBf16 }

/// <summary>
/// Where the network saw evidence of a deepfake: its probability and the class activation map, row-major,
/// <see cref="Width"/> × <see cref="Height"/> cells over the network's input (positive = towards deepfake).
/// </summary>
public sealed record Explanation(double FakeProbability, int Width, int Height, float[] Evidence);

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

    /// <summary>
    /// Loads a checkpoint (.ckpt) or an exported model (.onnx). With <paramref name="windows"/> (the caller will score
    /// windows, <see cref="Score"/>), <see cref="Engine.Auto"/> picks a TorchSharp engine and ONNX is refused here,
    /// before any picture is read.
    /// </summary>
    public static Detector Load(string path, Engine engine = Engine.Auto, bool windows = false)
    {
        // An .onnx model needs no engine timings: the machine cache's key asks libtorch for its thread count, and
        // an ONNX model must load where libtorch is absent (the container image).
        if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (engine == Engine.Torch) throw new VeracityException($"{path} is an ONNX model: it runs on ONNX Runtime only");
            if (windows) throw WindowsNeedTorch($"{path} is an ONNX model");
            if (!File.Exists(path)) throw new VeracityException($"model not found: {path}");
            return FromOnnx(File.ReadAllBytes(path), path);
        }
        return Load(path, engine, windows, MachineCache.Current);
    }

    /// <summary>A checkpoint's detector (<see cref="Load(string, Engine, bool)"/>) with the engine timings of <paramref name="machine"/>.</summary>
    internal static Detector Load(string path, Engine engine, bool windows, MachineCache machine)
    {
        var (info, model) = Checkpoint.Load(path);
        bool kept = false;
        try
        {
            model.eval();
            var spec = Backbones.Get(info.Backbone);
            if (engine == Engine.Auto)
                engine = EngineChoice.Fastest(EngineChoice.For(info, machine, () => TimeEngines(info, spec, model)), windows);
            if (engine == Engine.Onnx && windows) throw WindowsNeedTorch("the ONNX engine was asked for");
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

    /// <summary>The checkpoint description an exported model carries in its metadata.</summary>
    static CheckpointInfo OnnxInfo(InferenceSession session, string path)
    {
        string json = session.ModelMetadata.CustomMetadataMap.GetValueOrDefault(OnnxExport.MetadataKey)
            ?? throw new VeracityException($"{path} was not exported by Veracity (no {OnnxExport.MetadataKey} metadata)");
        try
        {
            return JsonSerializer.Deserialize<CheckpointInfo>(json) ?? throw new JsonException("the description is null");
        }
        catch (JsonException e)
        {
            throw new VeracityException($"{path}: its {OnnxExport.MetadataKey} metadata is damaged ({e.Message})", e);
        }
    }

    /// <summary>A model exported by Veracity, held in memory (<paramref name="name"/> for messages), on ONNX Runtime.</summary>
    public static Detector FromOnnx(byte[] onnx, string name)
    {
        var session = OpenSession(onnx, name);
        try
        {
            return new Detector(OnnxInfo(session, name), null, session);
        }
        catch
        {
            session.Dispose(); // nothing else holds it yet
            throw;
        }
    }

    /// <summary>
    /// Times every engine that can run <paramref name="model"/> here on <see cref="EngineChoice.Batch"/> seeded random
    /// pictures, each against float32 TorchSharp's probabilities. Without native bfloat16 instructions (AVX512-BF16 or
    /// AMX) libtorch emulates bfloat16, so that engine is not timed there.
    /// </summary>
    static EngineTiming[] TimeEngines(CheckpointInfo info, BackboneSpec spec, nn.Module<Tensor, Tensor> model)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(0x5eed);
        var images = PixelBatch.Of(randn([EngineChoice.Batch, 3, info.ImageSize, info.ImageSize], generator: generator));
        var torch = new Detector(info, model, null); // not disposed: the model is the caller's
        var (speed, reference) = Time(torch, images);
        var timings = new List<EngineTiming> { new(Engine.Torch, speed, 0, EngineChoice.Float32Allowed) };
        if (spec.SupportsBFloat16 && model is ResNet resnet && CpuInfo.Current.HasBFloat16)
        {
            resnet.BFloat16 = true;
            try
            {
                var (bf16Speed, bf16) = Time(torch, images);
                timings.Add(new EngineTiming(Engine.TorchBf16, bf16Speed, LargestDifference(bf16, reference), EngineChoice.BFloat16Allowed));
            }
            finally
            {
                resnet.BFloat16 = false;
            }
        }
        if (spec.OnnxExportable)
        {
            using var onnx = new Detector(info, null, OpenSession(OnnxExport.ToBytes(info, model), info.Backbone));
            var (onnxSpeed, probabilities) = Time(onnx, images);
            timings.Add(new EngineTiming(Engine.Onnx, onnxSpeed, LargestDifference(probabilities, reference), EngineChoice.Float32Allowed));
        }
        return [.. timings];
    }

    /// <summary>One warm-up score (which also checks the batch's convolution shapes), then the timed ones.</summary>
    static (double ImagesPerSecond, float[] Probabilities) Time(Detector detector, PixelBatch images)
    {
        float[] probabilities = detector.Score(images, tta: 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int run = 0; run < EngineChoice.Runs; run++) probabilities = detector.Score(images, tta: 1);
        return (EngineChoice.Runs * images.Count / clock.Elapsed.TotalSeconds, probabilities);
    }

    static double LargestDifference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    static VeracityException WindowsNeedTorch(string why) =>
        new($"scoring windows (--window) needs a TorchSharp engine (--engine torch or torchbf16): {why}, and ONNX models " +
            "take pictures of their own size only");

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

    /// <summary>
    /// The face settings to score with: the checkpoint's when it was trained on faces, unless <paramref name="useFaces"/>
    /// says otherwise (true: faces, with the default settings if the checkpoint has none; false: whole pictures).
    /// </summary>
    public Faces.FaceSettings? FaceSettingsFor(bool? useFaces) => useFaces switch
    {
        false => null,
        true => Info.Config.Faces ?? new Faces.FaceSettings(),
        null => Info.Config.Faces,
    };

    /// <summary>
    /// A decoder that puts pictures through the pipeline the model was trained behind (<see cref="TrainConfig.Reencode"/>):
    /// a model trained on faces had it applied to its pictures before their faces were cut, so it applies when faces are
    /// cut here too, and not to pictures scored whole (face crops already cut, as crossval scores them).
    /// </summary>
    public ImageDecoder Decoder(bool cutsFaces, long maxPixels = ImageDecoder.DefaultMaxPixels) =>
        new(maxPixels, cutsFaces || Info.Config.Faces is null ? Info.Config.Reencode : null);

    public SampleTransform Transform => SampleTransform.Evaluation(Info.ImageSize, Info.ImageSize, Info.Normalize);

    /// <summary>
    /// The deepfake probability of each image, averaged over <paramref name="tta"/> views (null: <see cref="Views"/>);
    /// with a <paramref name="window"/>, its most suspicious window's (<see cref="Scoring"/>). ONNX models take
    /// pictures of their own size only, so windows need a TorchSharp engine.
    /// </summary>
    public float[] Score(Tensor images, int? tta = null, int window = 0)
    {
        if (_model is null) return Score(PixelBatch.Of(images), tta, window);
        return Scoring.FakeProbabilities(_model.call, images, Views(tta), window);
    }

    /// <summary>
    /// <see cref="Score(Tensor, int?, int)"/> on plain floats: ONNX Runtime reads them as they are, with no libtorch
    /// call on the way (what lets the container image leave libtorch out); a TorchSharp engine copies them into a tensor.
    /// </summary>
    public float[] Score(PixelBatch images, int? tta = null, int window = 0)
    {
        if (_session is null)
        {
            using var tensor = images.ToTensor();
            return Score(tensor, tta, window);
        }
        if (window > 0 && window < Math.Min(images.Height, images.Width)) throw WindowsNeedTorch("this detector runs on ONNX Runtime");
        return Scoring.FakeProbabilities(batch => RunOnnx(batch, OnnxExport.OutputName)[0].Values, images, Views(tta), window);
    }

    /// <summary>The test-time views a score takes: <paramref name="tta"/> when asked, else the model's own (its training's).</summary>
    public int Views(int? tta) => tta ?? Info.Config.TestViews;

    /// <summary>
    /// Runs the ONNX model on a batch; each output's values (row-major) and shape. ONNX Runtime reads the batch where it
    /// is (pinned), so there is no copy on the way in.
    /// </summary>
    (float[] Values, long[] Shape)[] RunOnnx(PixelBatch images, params string[] outputNames)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, images.Data, images.Shape);
        using var options = new RunOptions();
        using var outputs = _session!.Run(options, [OnnxExport.InputName], [input], outputNames);
        return outputs.Select(output => (output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape)).ToArray();
    }

    /// <summary>Whether <see cref="Explain"/> works: a ResNet head, or an ONNX model exported with its evidence output.</summary>
    public bool CanExplain => _session?.OutputMetadata.ContainsKey(OnnxExport.EvidenceName) ?? _model is ResNet;

    /// <summary>The deepfake probability (one view, no TTA) and class activation map of a batch of one image.</summary>
    public Explanation Explain(PixelBatch image)
    {
        if (image.Count != 1) throw new ArgumentException($"explain takes one image, not {image.Count}");
        if (!CanExplain)
            throw new VeracityException(_session is null
                ? $"heatmaps need a ResNet backbone, not {Info.Backbone}"
                : "this ONNX model was exported before heatmaps existed: export the checkpoint again");
        if (_session is not null)
        {
            var (logits, evidence) = RunOnnx(image, OnnxExport.OutputName, OnnxExport.EvidenceName) is [var l, var e] ? (l, e) : throw new InvalidOperationException();
            return new Explanation(Scoring.FakeProbability(logits.Values[0], logits.Values[1]), (int)evidence.Shape[2], (int)evidence.Shape[1],
                evidence.Values);
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (torchLogits, torchEvidence) = ((ResNet)_model!).LogitsAndEvidence(image.ToTensor());
        double probability = nn.functional.softmax(torchLogits.to(ScalarType.Float32), 1)[0, 1].item<float>();
        var map = torchEvidence.to(ScalarType.Float32)[0];
        return new Explanation(probability, (int)map.shape[1], (int)map.shape[0], map.contiguous().data<float>().ToArray());
    }

    public void Dispose()
    {
        _model?.Dispose();
        _session?.Dispose();
    }
}
