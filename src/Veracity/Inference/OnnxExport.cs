using System.Text.Json;
using Google.Protobuf;
using TorchSharp;
using Onnx;
using Veracity.Models;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Inference;

/// <summary>
/// Writes a trained ResNet (backbone + head) as an ONNX graph for ONNX Runtime: BatchNorm folded into the
/// preceding convolutions, a symbolic batch size, the checkpoint's description in the metadata. Besides the
/// logits it outputs the deepfake class activation map (<see cref="ResNet.LogitsAndEvidence"/>) for heatmaps. TorchSharp has no
/// ONNX exporter, so the graph is assembled node by node from the module's layers.
/// </summary>
public static class OnnxExport
{
    public const string InputName = "images", OutputName = "logits", EvidenceName = "evidence", MetadataKey = "veracity.checkpoint";

    public static byte[] ToBytes(CheckpointInfo info, nn.Module<Tensor, Tensor> model)
    {
        if (!Backbones.Get(info.Backbone).OnnxExportable || model is not ResNet resnet)
            throw new VeracityException(
                $"ONNX export supports {string.Join(", ", Backbones.All.Where(b => b.OnnxExportable).Select(b => b.Name))}, not '{info.Backbone}'");
        var graph = new GraphBuilder();
        using var _ = no_grad();
        string input = resnet.Input switch
        {
            ModelInput.Npr => graph.NeighbouringPixelResiduals(InputName),
            ModelInput.Srm => graph.RichModelResiduals(InputName),
            ModelInput.Dct => graph.BlockSpectrum(InputName),
            _ => InputName,
        };
        string x = graph.ConvBn(input, resnet.conv1, resnet.bn1, stride: 2, pad: 3);
        if (resnet.Input == ModelInput.RgbSrm) // BN(a + b) = BN(a) + b·γ/√(σ²+ε): the second convolution is scaled, not shifted
        {
            string residuals = graph.RichModelResiduals(InputName);
            x = graph.Node("Add", [x, graph.ConvBn(residuals, resnet.residualStem!, resnet.bn1, stride: 2, pad: 3, shift: false)]);
        }
        x = graph.Node("Relu", [x]);
        x = graph.Node("MaxPool", [x], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
        foreach (var block in resnet.Blocks)
        {
            long stride = block.conv1.stride[0];
            string y = graph.Node("Relu", [graph.ConvBn(x, block.conv1, block.bn1, stride, pad: 1)]);
            y = graph.ConvBn(y, block.conv2, block.bn2, stride: 1, pad: 1);
            string shortcut = block.downsample_conv is null ? x : graph.ConvBn(x, block.downsample_conv, block.downsample_bn!, stride, pad: 0);
            x = graph.Node("Relu", [graph.Node("Add", [y, shortcut])]);
        }
        using (var evidenceWeights = resnet.EvidenceWeights())
            graph.Node("MatMul", [graph.Node("Transpose", [x], Ints("perm", 0, 2, 3, 1)), graph.Initializer(evidenceWeights)], [EvidenceName]);
        x = graph.Node("Flatten", [graph.Node("GlobalAveragePool", [x])], Int("axis", 1));
        graph.Node("Gemm", [x, graph.Initializer(resnet.fc.weight!), graph.Initializer(resnet.fc.bias!)], [OutputName], Int("transB", 1));

        var model_ = new ModelProto
        {
            IrVersion = 7,
            ProducerName = "Veracity",
            Graph = graph.Build(info.ImageSize),
        };
        model_.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        model_.MetadataProps.Add(new StringStringEntryProto { Key = MetadataKey, Value = JsonSerializer.Serialize(info) });
        return model_.ToByteArray();
    }

    static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    sealed class GraphBuilder
    {
        readonly GraphProto _graph = new() { Name = "veracity" };
        int _next;

        public string Node(string op, string[] inputs, params AttributeProto[] attributes) =>
            Node(op, inputs, [$"{op.ToLowerInvariant()}_{_next}"], attributes);

        public string Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = $"{op}_{_next++}" };
            node.Input.AddRange(inputs);
            node.Output.AddRange(outputs);
            node.Attribute.AddRange(attributes);
            _graph.Node.Add(node);
            return outputs[0];
        }

        /// <summary>
        /// A convolution with its BatchNorm folded in: w·γ/√(σ²+ε) and, if <paramref name="shift"/>, the bias β − μ·γ/√(σ²+ε).
        /// </summary>
        public string ConvBn(string input, TorchSharp.Modules.Conv2d conv, TorchSharp.Modules.BatchNorm2d bn, long stride, long pad,
            bool shift = true)
        {
            using var scope = NewDisposeScope();
            using Scalar eps = bn.eps.ToScalar(); // held for the call (see Scalars)
            var scale = bn.weight! / bn.running_var!.add(eps, Scalars.One).sqrt();
            var weight = conv.weight! * scale.reshape(-1, 1, 1, 1);
            var bias = bn.bias! - bn.running_mean! * scale;
            long k = conv.weight!.shape[2];
            string[] inputs = shift ? [input, Initializer(weight), Initializer(bias)] : [input, Initializer(weight)];
            return Node("Conv", inputs,
                Ints("kernel_shape", k, k), Ints("strides", stride, stride), Ints("pads", pad, pad, pad, pad));
        }

        /// <summary>
        /// x − up(down(x)) as <see cref="ResNet"/> computes it: a per-channel 1×1 convolution of stride 2 takes every
        /// second pixel, a per-channel 2×2 transposed convolution of stride 2 repeats it over its cell.
        /// </summary>
        public string NeighbouringPixelResiduals(string input)
        {
            using var pick = ones(3, 1, 1, 1);
            using var repeat = ones(3, 1, 2, 2);
            string down = Node("Conv", [input, Initializer(pick)], Int("group", 3), Ints("kernel_shape", 1, 1), Ints("strides", 2, 2));
            string up = Node("ConvTranspose", [down, Initializer(repeat)], Int("group", 3), Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));
            return Node("Sub", [input, up]);
        }

        /// <summary>The <see cref="ModelInput.Srm"/> residuals: one fixed 5×5 convolution.</summary>
        public string RichModelResiduals(string input)
        {
            using var kernels = ResNet.RichModelKernels();
            return Node("Conv", [input, Initializer(kernels)], Ints("kernel_shape", 5, 5), Ints("pads", 2, 2, 2, 2));
        }

        /// <summary>The <see cref="ModelInput.Dct"/> spectrum: the block DCT as one convolution, laid back by DepthToSpace.</summary>
        public string BlockSpectrum(string input)
        {
            using var kernels = ResNet.BlockDctKernels();
            using var floor = tensor(ResNet.SpectrumFloor);
            string coefficients = Node("Conv", [input, Initializer(kernels)], Int("group", 3), Ints("kernel_shape", 8, 8), Ints("strides", 8, 8));
            string laidBack = Node("DepthToSpace", [coefficients], Int("blocksize", 8), Str("mode", "CRD"));
            return Node("Log", [Node("Add", [Node("Abs", [laidBack]), Initializer(floor)])]);
        }

        public string Initializer(Tensor value)
        {
            string name = $"w{_next++}";
            var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            proto.Dims.AddRange(value.shape);
            proto.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(
                value.contiguous().data<float>().ToArray().AsSpan()));
            _graph.Initializer.Add(proto);
            return name;
        }

        public GraphProto Build(int imageSize)
        {
            _graph.Input.Add(Value(InputName, "N", 3, imageSize, imageSize));
            _graph.Output.Add(Value(OutputName, "N", Backbones.Classes));
            _graph.Output.Add(Value(EvidenceName, "N", "H", "W"));
            return _graph;
        }

        /// <summary>A float tensor's name and shape; a dimension is a number or a symbolic name.</summary>
        static ValueInfoProto Value(string name, params object[] dims)
        {
            var shape = new TensorShapeProto();
            foreach (object d in dims)
                shape.Dim.Add(d is string symbol
                    ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                    : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
            return new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
            };
        }
    }
}
