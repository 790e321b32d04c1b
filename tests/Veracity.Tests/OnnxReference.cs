using System.Runtime.InteropServices;
using Onnx;
using static TorchSharp.torch;

namespace Veracity.Tests;

/// <summary>
/// The float64 reference of an exported graph: each node evaluated by libtorch in float64, on the initializers as
/// stored (float, float16 or integer), QuantizeLinear and DequantizeLinear as ONNX defines them. Only the operators
/// Veracity's exports use. The values of <see cref="Tracked"/> tensors are kept with their gradients, so a test can
/// tell how much an output moves per unit change of a weight or an activation. Run it inside a dispose scope: the
/// scope frees what a run makes, <see cref="Dispose"/> the initializers.
/// </summary>
public sealed class OnnxReference : IDisposable
{
    readonly GraphProto _graph;
    readonly Dictionary<string, Tensor> _initializers = [];

    public OnnxReference(byte[] onnx)
    {
        _graph = ModelProto.Parser.ParseFrom(onnx).Graph;
        foreach (var initializer in _graph.Initializer) _initializers[initializer.Name] = Read(initializer).DetachFromDisposeScope();
    }

    public Tensor Initializer(string name) => _initializers[name];

    /// <summary>Names of the float tensors whose values <see cref="Run"/> keeps (with gradients when asked).</summary>
    public HashSet<string> Tracked { get; } = [];

    /// <summary>The tracked tensors' values from the last <see cref="Run"/>.</summary>
    public Dictionary<string, Tensor> Values { get; } = [];

    /// <summary>Runs the graph on <paramref name="images"/>; the named output, float64.</summary>
    public Tensor Run(Tensor images, string output, bool gradients = false)
    {
        Values.Clear();
        var live = new Dictionary<string, Tensor> { [_graph.Input[0].Name] = Track(_graph.Input[0].Name, images.to(ScalarType.Float64), gradients) };
        Tensor Get(string name) => live.TryGetValue(name, out var t) ? t : _initializers[name];
        foreach (var node in _graph.Node)
            live[node.Output[0]] = Track(node.Output[0], Evaluate(node, node.Input.Select(Get).ToArray()), gradients);
        return live[output];
    }

    Tensor Track(string name, Tensor value, bool gradients)
    {
        if (!Tracked.Contains(name)) return value;
        if (gradients && !value.requires_grad) value.requires_grad_(true); // the input
        Values[name] = value;
        return value;
    }

    static Tensor Evaluate(NodeProto node, Tensor[] x)
    {
        long[] Ints(string name, params long[] fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray() ?? fallback;
        long Int(string name, long fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;
        switch (node.OpType)
        {
            case "Conv":
                long[] pads = Ints("pads", 0, 0, 0, 0);
                return nn.functional.conv2d(x[0], x[1], x.Length > 2 ? x[2] : null, Ints("strides", 1, 1), [pads[0], pads[1]],
                    groups: Int("group", 1));
            case "Relu": return nn.functional.relu(x[0]);
            case "MaxPool":
                return nn.functional.max_pool2d(x[0], Ints("kernel_shape"), Ints("strides"), [Ints("pads")[0], Ints("pads")[1]]);
            case "Add": return x[0] + x[1];
            case "GlobalAveragePool": return x[0].mean([2, 3], keepdim: true);
            case "Flatten": return x[0].flatten(1);
            case "Gemm": return nn.functional.linear(x[0], Int("transB", 0) == 1 ? x[1] : x[1].t(), x[2]);
            case "Transpose": return x[0].permute(Ints("perm"));
            case "MatMul": return x[0].matmul(x[1]);
            case "Cast": return x[0].to(ScalarType.Float64);
            case "DequantizeLinear":
            {
                var (scale, zero) = PerAxis(x[1], x[2], x[0].dim(), Int("axis", 1));
                return (x[0].to(ScalarType.Float64) - zero) * scale;
            }
            case "QuantizeLinear":
            {
                var (scale, zero) = PerAxis(x[1], x[2], x[0].dim(), Int("axis", 1));
                var (low, high) = x[2].dtype == ScalarType.Byte ? (0.0, 255.0) : (-128.0, 127.0);
                // round half to even, as ONNX says; stored as float64 integers, read by DequantizeLinear as such
                return (x[0] / scale).round().add(zero).clamp(low, high).detach();
            }
            default: throw new NotSupportedException($"the float64 reference has no {node.OpType}");
        }
    }

    /// <summary>A per-tensor or per-axis scale and zero point, shaped to broadcast over a tensor of <paramref name="rank"/>.</summary>
    static (Tensor Scale, Tensor Zero) PerAxis(Tensor scale, Tensor zero, long rank, long axis)
    {
        if (scale.dim() == 0) return (scale, zero.to(ScalarType.Float64));
        long[] shape = Enumerable.Repeat(1L, (int)rank).ToArray();
        shape[axis] = scale.shape[0];
        return (scale.reshape(shape), zero.to(ScalarType.Float64).reshape(shape));
    }

    /// <summary>An initializer as float64 (integers keep their values; QuantizeLinear needs the zero point's type, so those stay as stored).</summary>
    static Tensor Read(TensorProto proto)
    {
        long[] dims = proto.Dims.ToArray();
        var bytes = proto.RawData.Span;
        return (TensorProto.Types.DataType)proto.DataType switch
        {
            TensorProto.Types.DataType.Float => tensor(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), dims).to(ScalarType.Float64),
            TensorProto.Types.DataType.Float16 => tensor(MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(h => (double)h).ToArray(), dims),
            TensorProto.Types.DataType.Int32 => tensor(MemoryMarshal.Cast<byte, int>(bytes).ToArray(), dims).to(ScalarType.Float64),
            TensorProto.Types.DataType.Int8 => tensor(MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray().Select(v => (short)v).ToArray(), dims)
                .to(ScalarType.Int8),
            TensorProto.Types.DataType.Uint8 => tensor(bytes.ToArray(), dims),
            var type => throw new NotSupportedException($"the float64 reference reads no {type} initializers"),
        };
    }

    public void Dispose()
    {
        foreach (var value in _initializers.Values) value.Dispose();
    }
}
