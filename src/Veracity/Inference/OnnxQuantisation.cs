using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Veracity.Data;
using Veracity.Metrics;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Veracity.Inference;

/// <summary>
/// What an int8 export calibrates on and checks against: <see cref="CalibrationCount"/> pictures of a labelled set
/// spread over its label file, and the AUC on the check set (the calibration pictures when none is given), which
/// must stay within <see cref="MaxAucChange"/> of float32's.
/// </summary>
public sealed record QuantisationOptions(string CalibrationLabels, string CalibrationImages, int CalibrationCount = 300,
    string? CheckLabels = null, string? CheckImages = null, double MaxAucChange = 0.005);

/// <summary>The int8 model lost more AUC than it may: nothing is written, and the message gives both figures.</summary>
public sealed class QuantisationRefusedException(string name, QuantisationCheck check) : VeracityException(
    $"{name}: the int8 model is refused: AUC {check.Int8Auc:F4} against float32's {check.Float32Auc:F4} on {check.Pictures} pictures " +
    $"of {check.Labels} (a change of {Math.Abs(check.Int8Auc - check.Float32Auc):F4}; it must stay under {check.MaxChange})");

/// <summary>
/// Static int8 quantisation of an exported model in ONNX's QDQ form, which ONNX Runtime fuses into integer kernels
/// (QLinearConv, QLinearAdd, QGemm):
/// <list type="bullet">
/// <item>Conv and Gemm weights: int8, symmetric (zero point 0), one scale per output channel (axis 0), on 7 bits
/// (±63): without VNNI (AVX2, and AVX-512 without VNNI) ONNX Runtime's uint8 × int8 kernels add pairs of products in
/// int16 (vpmaddubsw), which saturates past 32767 = 2 · 255 · 64.2. On AMD Zen 3 with ±127 the integer kernels gave
/// logits up to 12.8 away from the QDQ graph read in float (demo model); with ±63, 0.22. Biases: int32 at the input's
/// scale times the weight's.</item>
/// <item>Activations feeding Conv, Gemm and Add, and what those produce (after their Relu, which the quantisation's
/// clamp at zero then makes redundant): uint8, asymmetric. ONNX Runtime's x64 fusions take uint8 activations only
/// (<c>QDQIsInt8Allowed</c> is false off ARM), with int8 or uint8 weights. MaxPool's output keeps its input's
/// parameters, so it runs on the bytes.</item>
/// <item>Ranges: min/max over the calibration pictures. With a few hundred pictures a percentile of each tensor would
/// rest on a handful of values, and clipping would flatten the strongest evidence, which is what a detector's extreme
/// scores come from; the AUC check decides whether the ranges were good enough.</item>
/// </list>
/// The heatmap's MatMul stays float32, on the dequantised activations. So does the stem (every node the first MaxPool
/// reads from) when its convolutions read something other than the picture: fixed filters' residuals (SRM, NPR, DCT)
/// are small and heavy-tailed, and a uint8 range over them loses them. The built-in model of 2026-12-07 (RGB beside SRM residuals)
/// scored AUC 0.9597 with its stem quantised, 0.9946 with it float32, against float32's 0.9952 (600 real faces); a
/// float32 stem costs that model 1.28× the time of a quantised one, still 0.70× float32's. A picture quantises
/// well (the demo lost 0.0004 AUC), so an RGB stem is quantised.
/// </summary>
public static class OnnxQuantisation
{
    const int ActivationLevels = 255, WeightLimit = 63; // see the summary for 63
    static readonly string[] QuantisedOps = ["Conv", "Gemm", "Add"];

    /// <summary>
    /// Calibrates, quantises and checks the float32 model <paramref name="onnx"/> (an export of <see cref="OnnxExport"/>);
    /// the int8 model, or <see cref="QuantisationRefusedException"/> when its AUC moved too far.
    /// </summary>
    /// <param name="name">The file being written, for messages.</param>
    public static byte[] ToInt8(byte[] onnx, QuantisationOptions options, string name)
    {
        var calibration = Spread(LabelFile.ReadLabels(options.CalibrationLabels), options.CalibrationCount);
        byte[] int8 = Quantise(onnx, options.CalibrationImages, calibration, name);
        var (labels, images, rows) = options.CheckLabels is null
            ? (options.CalibrationLabels, options.CalibrationImages, calibration)
            : (options.CheckLabels, options.CheckImages!, LabelFile.ReadLabels(options.CheckLabels));
        QuantisationCheck check;
        using (var full = Detector.FromOnnx(onnx, name))
        using (var candidate = Detector.FromOnnx(int8, name))
            check = Check(full, candidate, labels, images, rows, options.MaxAucChange);
        if (!(Math.Abs(check.Int8Auc - check.Float32Auc) < options.MaxAucChange)) throw new QuantisationRefusedException(name, check);
        var quantised = ModelProto.Parser.ParseFrom(int8);
        var storage = OnnxWeights.Read(int8);
        OnnxWeights.Record(quantised, storage with { Details = $"{storage.Details} from {options.CalibrationLabels}", Check = check });
        return quantised.ToByteArray();
    }

    /// <summary>
    /// The int8 model of <paramref name="onnx"/>, its activations calibrated on the pictures of <paramref name="rows"/>
    /// (prepared as predict prepares them), unchecked.
    /// </summary>
    public static byte[] Quantise(byte[] onnx, string images, IReadOnlyList<LabelRow> rows, string name)
    {
        if (rows.Count == 0) throw new VeracityException($"{name}: at least one calibration picture is needed");
        var model = ModelProto.Parser.ParseFrom(onnx);
        var plan = Plan(model.Graph);
        int size;
        List<float[]> inputs;
        using (var full = Detector.FromOnnx(onnx, name))
            (size, inputs) = (full.Info.ImageSize, Inputs(full, images, rows));
        var ranges = Calibrate(model, plan, inputs, size);
        var quantised = Quantise(model, plan, ranges);
        OnnxWeights.Record(quantised, new WeightStorage("int8",
            "QDQ: Conv and Gemm weights int8 symmetric per output channel on 7 bits, biases int32; activations feeding Conv, Gemm and Add " +
            $"uint8 asymmetric, min/max over {ranges.Pictures} calibration inputs" +
            (plan.Tensors.Contains(model.Graph.Input[0].Name) ? "" : "; the stem float32"))); // a quantised stem reads the picture quantised
        return quantised.ToByteArray();
    }

    /// <summary>Which tensors carry a QDQ pair, and which of them take another's parameters (a MaxPool's output, its input's).</summary>
    sealed record QdqPlan(List<string> Tensors, Dictionary<string, string> SharesWith)
    {
        public IEnumerable<string> Calibrated => Tensors.Where(t => !SharesWith.ContainsKey(t));
    }

    static QdqPlan Plan(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet();
        var outputs = graph.Output.Select(o => o.Name).ToHashSet();
        var consumers = graph.Node.SelectMany(n => n.Input.Select(i => (i, n))).ToLookup(p => p.i, p => p.n);
        var producers = graph.Node.ToDictionary(n => n.Output[0]);
        var stem = FloatStem(graph, producers);
        var tensors = new List<string>();
        void Add(string tensor)
        {
            if (!tensors.Contains(tensor) && !outputs.Contains(tensor)) tensors.Add(tensor);
        }
        foreach (var node in graph.Node.Where(n => QuantisedOps.Contains(n.OpType) && !stem.Contains(n.Output[0])))
        {
            if (node.OpType == "Add" && node.Input.Any(initializers.Contains)) continue; // a constant term: no QLinearAdd
            foreach (string input in node.OpType == "Add" ? node.Input : node.Input.Take(1)) Add(input);
            string output = node.Output[0];
            var readers = consumers[output].ToList();
            Add(readers is [{ OpType: "Relu" } relu] ? relu.Output[0] : output);
        }
        var shares = tensors.Where(t => producers.TryGetValue(t, out var p) && p.OpType == "MaxPool" && tensors.Contains(p.Input[0]))
            .ToDictionary(t => t, t => producers[t].Input[0]);
        return new QdqPlan(tensors, shares);
    }

    /// <summary>
    /// The outputs of every node the first MaxPool depends on, when one of its convolutions reads something other than
    /// the picture; else none (nor in a graph without a MaxPool).
    /// </summary>
    static HashSet<string> FloatStem(GraphProto graph, Dictionary<string, NodeProto> producers)
    {
        var stem = new HashSet<string>();
        var pending = new Stack<string>(graph.Node.FirstOrDefault(n => n.OpType == "MaxPool")?.Input.Take(1) ?? []);
        while (pending.TryPop(out var tensor))
            if (producers.TryGetValue(tensor, out var producer) && stem.Add(tensor))
                foreach (string input in producer.Input) pending.Push(input);
        string picture = graph.Input[0].Name;
        bool filtered = stem.Select(t => producers[t]).Any(n => n.OpType == "Conv" && n.Input[0] != picture);
        return filtered ? stem : [];
    }

    /// <summary>Rows spread evenly over the label file (they are often sorted by class or source).</summary>
    static IReadOnlyList<LabelRow> Spread(IReadOnlyList<LabelRow> rows, int count) =>
        rows.Count <= count ? rows : Enumerable.Range(0, count).Select(i => rows[(int)((long)i * rows.Count / count)]).ToList();

    /// <summary>The network inputs of <paramref name="rows"/>, prepared as predict prepares them (on faces when the model was trained on faces).</summary>
    static List<float[]> Inputs(Detector detector, string images, IReadOnlyList<LabelRow> rows)
    {
        using var preparer = new PicturePreparer(detector, detector.FaceSettingsFor(null));
        var inputs = rows.SelectMany(row => preparer.Prepare(ImagePaths.Resolve(images, row.Name), row.Name).Inputs).Select(i => i.Chw).ToList();
        if (inputs.Count == 0) throw new VeracityException($"{images}: none of the {rows.Count} calibration pictures gave the network an input");
        return inputs;
    }

    sealed record Ranges(Dictionary<string, (float Min, float Max)> ByTensor, int Pictures);

    /// <summary>Runs the float32 model with every calibrated tensor as an extra output; each one's min and max over all inputs.</summary>
    static Ranges Calibrate(ModelProto model, QdqPlan plan, List<float[]> inputs, int size)
    {
        var probe = model.Clone();
        string input = probe.Graph.Input[0].Name;
        var probed = plan.Calibrated.Where(t => t != input).ToList();
        foreach (string tensor in probed)
            probe.Graph.Output.Add(new ValueInfoProto
            {
                Name = tensor,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } },
            });
        var ranges = plan.Calibrated.ToDictionary(t => t, _ => (Min: float.PositiveInfinity, Max: float.NegativeInfinity));
        void Widen(string tensor, ReadOnlySpan<float> values)
        {
            var (min, max) = ranges[tensor];
            foreach (float v in values) (min, max) = (Math.Min(min, v), Math.Max(max, v));
            ranges[tensor] = (min, max);
        }
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = Environment.ProcessorCount };
        using var session = new InferenceSession(probe.ToByteArray(), options);
        const int batch = 16; // the probed activations of 16 pictures at 256 px hold about 0.6 GB
        int floats = inputs[0].Length;
        for (int first = 0; first < inputs.Count; first += batch)
        {
            int count = Math.Min(batch, inputs.Count - first);
            var pixels = new float[count * floats];
            for (int i = 0; i < count; i++) inputs[first + i].CopyTo(pixels, i * floats);
            if (ranges.ContainsKey(input)) Widen(input, pixels);
            using var value = OrtValue.CreateTensorValueFromMemory(pixels, [count, 3, size, size]);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, [input], [value], probed);
            for (int k = 0; k < probed.Count; k++) Widen(probed[k], outputs[k].GetTensorDataAsSpan<float>());
        }
        return new Ranges(ranges, inputs.Count);
    }

    /// <summary>uint8 parameters of a range widened to hold zero (so that zero, ReLU's floor and padding, is exact).</summary>
    static (float Scale, byte Zero) ActivationParameters((float Min, float Max) range)
    {
        float low = Math.Min(0, range.Min), high = Math.Max(0, range.Max);
        if (high == low) return (1, 0); // always zero: any scale holds it
        float scale = (high - low) / ActivationLevels;
        return (scale, (byte)Math.Clamp(Math.Round(-low / scale), 0, ActivationLevels));
    }

    static ModelProto Quantise(ModelProto model, QdqPlan plan, Ranges ranges)
    {
        var quantised = model.Clone();
        var graph = quantised.Graph;
        var initializers = graph.Initializer.ToDictionary(i => i.Name);
        var parameters = new Dictionary<string, (float Scale, byte Zero)>();
        foreach (string tensor in plan.Calibrated)
        {
            parameters[tensor] = ActivationParameters(ranges.ByTensor[tensor]);
            graph.Initializer.Add(Scalar($"{tensor}.scale", DataType.Float, BitConverter.GetBytes(parameters[tensor].Scale)));
            graph.Initializer.Add(Scalar($"{tensor}.zero_point", DataType.Uint8, [parameters[tensor].Zero]));
        }
        string Parameters(string tensor) => plan.SharesWith.GetValueOrDefault(tensor, tensor);

        var nodes = new List<NodeProto>();
        int dequantised = 0;
        void Quantize(string tensor) =>
            nodes.Add(Node("QuantizeLinear", [tensor, $"{Parameters(tensor)}.scale", $"{Parameters(tensor)}.zero_point"], $"{tensor}.q"));
        string input = graph.Input[0].Name;
        if (plan.Tensors.Contains(input)) Quantize(input);
        foreach (var node in graph.Node)
        {
            string activation = node.Input[0];
            for (int i = 0; i < node.Input.Count; i++)
            {
                string tensor = node.Input[i];
                if (plan.Tensors.Contains(tensor))
                {
                    string dq = $"{tensor}.dq{dequantised++}"; // one DequantizeLinear per reader: a QDQ group owns its inputs
                    nodes.Add(Node("DequantizeLinear", [$"{tensor}.q", $"{Parameters(tensor)}.scale", $"{Parameters(tensor)}.zero_point"], dq));
                    node.Input[i] = dq;
                }
            }
            if (node.OpType is "Conv" or "Gemm" && plan.Tensors.Contains(activation)) // integer weights only where the input is quantised
            {
                float inputScale = parameters[Parameters(activation)].Scale;
                float[] weightScales = QuantiseWeight(graph, initializers[node.Input[1]], nodes);
                if (node.Input.Count > 2) QuantiseBias(graph, initializers[node.Input[2]], weightScales.Select(s => s * inputScale).ToArray(), nodes);
            }
            nodes.Add(node);
            if (plan.Tensors.Contains(node.Output[0])) Quantize(node.Output[0]);
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        return quantised;
    }

    /// <summary>Replaces a float weight by int8 values, one symmetric scale per output channel, behind a DequantizeLinear of its name.</summary>
    static float[] QuantiseWeight(GraphProto graph, TensorProto weight, List<NodeProto> nodes)
    {
        float[] values = OnnxWeights.Floats(weight);
        int channels = (int)weight.Dims[0], per = values.Length / channels;
        var scales = new float[channels];
        var bytes = new sbyte[values.Length];
        for (int c = 0; c < channels; c++)
        {
            var channel = values.AsSpan(c * per, per);
            float max = 0;
            foreach (float v in channel) max = Math.Max(max, Math.Abs(v));
            scales[c] = max > 0 ? max / WeightLimit : 1;
            for (int k = 0; k < per; k++)
                bytes[c * per + k] = (sbyte)Math.Clamp(Math.Round(channel[k] / scales[c], MidpointRounding.ToEven), -WeightLimit, WeightLimit);
        }
        Dequantised(graph, weight, DataType.Int8, MemoryMarshal.AsBytes(bytes.AsSpan()).ToArray(), scales, DataType.Int8, sizeof(sbyte), nodes);
        return scales;
    }

    /// <summary>Replaces a float bias by int32 values at the given per-channel scales (input scale × weight scale), as the integer kernels add it.</summary>
    static void QuantiseBias(GraphProto graph, TensorProto bias, float[] scales, List<NodeProto> nodes)
    {
        float[] values = OnnxWeights.Floats(bias);
        var ints = new int[values.Length];
        for (int c = 0; c < values.Length; c++)
        {
            double q = Math.Round(values[c] / (double)scales[c], MidpointRounding.ToEven);
            if (Math.Abs(q) > int.MaxValue) throw new VeracityException($"bias {bias.Name}[{c}] = {values[c]} does not fit int32 at scale {scales[c]}");
            ints[c] = (int)q;
        }
        Dequantised(graph, bias, DataType.Int32, MemoryMarshal.AsBytes(ints.AsSpan()).ToArray(), scales, DataType.Int32, sizeof(int), nodes);
    }

    /// <summary>Swaps a float initializer for integer data, per-channel scales and zero points, and a DequantizeLinear (axis 0) that gives back its name.</summary>
    static void Dequantised(GraphProto graph, TensorProto original, DataType type, byte[] data, float[] scales, DataType zeroType, int zeroSize,
        List<NodeProto> nodes)
    {
        string name = original.Name;
        var stored = new TensorProto { Name = $"{name}.quantised", DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        stored.Dims.AddRange(original.Dims);
        graph.Initializer[graph.Initializer.IndexOf(original)] = stored;
        graph.Initializer.Add(Vector($"{name}.scale", DataType.Float, MemoryMarshal.AsBytes(scales.AsSpan()).ToArray(), scales.Length));
        graph.Initializer.Add(Vector($"{name}.zero_point", zeroType, new byte[scales.Length * zeroSize], scales.Length));
        var dq = Node("DequantizeLinear", [stored.Name, $"{name}.scale", $"{name}.zero_point"], name);
        dq.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        nodes.Add(dq);
    }

    static NodeProto Node(string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{output}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    static TensorProto Scalar(string name, DataType type, byte[] data) =>
        new() { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };

    static TensorProto Vector(string name, DataType type, byte[] data, int length)
    {
        var tensor = Scalar(name, type, data);
        tensor.Dims.Add(length);
        return tensor;
    }

    /// <summary>The AUC of both models on the labelled pictures, scored as predict scores them (each model's own test views).</summary>
    static QuantisationCheck Check(Detector full, Detector candidate, string labels, string images, IReadOnlyList<LabelRow> rows, double maxChange)
    {
        var names = rows.Select(r => r.Name).ToList();
        var scores = new[] { full, candidate }
            .Select(d => Prediction.Run(d, images, names, new ScoringOptions(), OnError.Skip, faces: d.FaceSettingsFor(null)).Images).ToList();
        var scored = Enumerable.Range(0, rows.Count).Where(i => scores.All(s => s[i].Score is not null)).ToList();
        if (scored.Select(i => rows[i].Target).Distinct().Count() < 2)
            throw new VeracityException($"{labels}: the AUC check needs real and fake pictures that can be scored; {scored.Count} of {rows.Count} were");
        var targets = scored.Select(i => rows[i].Target).ToList();
        double Auc(int model) => ScoreMetrics.Auc(scored.Select(i => scores[model][i].Score!.Value).ToList(), targets);
        return new QuantisationCheck(labels, scored.Count, Auc(0), Auc(1), maxChange);
    }
}
