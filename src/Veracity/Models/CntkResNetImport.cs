using Onnx;
using static TorchSharp.torch;

namespace Veracity.Models;

/// <summary>
/// Copies the ImageNet weights of ML.NET's CNTK ResNet-18 ONNX graph (blocks [2,2,2,3]) into a <see cref="ResNet"/>.
/// The graph lists each block's 1×1 downsample convolution before the block's first 3×3 convolution, so weights
/// are matched by following the graph's structure from its input, never by node order.
/// </summary>
public static class CntkResNetImport
{
    public const string FileName = "ResNet18.onnx";
    public static readonly int[] Blocks = [2, 2, 2, 3];

    /// <summary>Where the build puts the weights: weights/ResNet18.onnx beside the assemblies.</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "weights", FileName);

    public static void Load(ResNet model, string? onnxPath = null)
    {
        string path = onnxPath ?? DefaultPath;
        if (!File.Exists(path))
            throw new VeracityException($"pretrained weights not found at {path}; they come with the build " +
                "(NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1)");
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;
        var walk = new GraphWalk(graph);

        using var _ = no_grad();
        string x = graph.Input.Single(i => !walk.IsInitializer(i.Name)).Name;
        var stem = walk.Consumer(x, "Conv");
        var stemBn = walk.Consumer(stem.Output[0], "BatchNormalization");
        walk.CopyConv(stem, model.conv1);
        walk.CopyBatchNorm(stemBn, model.bn1);
        x = walk.Consumer(walk.Consumer(stemBn.Output[0], "Relu").Output[0], "MaxPool").Output[0];

        var blocks = model.Blocks.ToList();
        for (int b = 0; b < blocks.Count; b++)
        {
            var convs = walk.Consumers(x, "Conv").ToList();
            var conv1 = convs.Single(c => walk.KernelSize(c) == 3);
            var downsample = convs.SingleOrDefault(c => walk.KernelSize(c) == 1);
            if ((downsample is null) != (blocks[b].downsample_conv is null))
                throw new VeracityException($"{path}: block {b} does not have the expected shape");

            var bn1 = walk.Consumer(conv1.Output[0], "BatchNormalization");
            var conv2 = walk.Consumer(walk.Consumer(bn1.Output[0], "Relu").Output[0], "Conv");
            var bn2 = walk.Consumer(conv2.Output[0], "BatchNormalization");
            walk.CopyConv(conv1, blocks[b].conv1);
            walk.CopyBatchNorm(bn1, blocks[b].bn1);
            walk.CopyConv(conv2, blocks[b].conv2);
            walk.CopyBatchNorm(bn2, blocks[b].bn2);
            if (downsample is not null)
            {
                walk.CopyConv(downsample, blocks[b].downsample_conv!);
                walk.CopyBatchNorm(walk.Consumer(downsample.Output[0], "BatchNormalization"), blocks[b].downsample_bn!);
            }
            var add = walk.Consumer(bn2.Output[0], "Add");
            x = walk.Consumer(add.Output[0], "Relu").Output[0];
        }
        walk.Consumer(x, "AveragePool"); // the graph ends in global pooling: every block was matched
    }

    sealed class GraphWalk(GraphProto graph)
    {
        readonly Dictionary<string, TensorProto> _initializers = graph.Initializer.ToDictionary(t => t.Name);
        readonly ILookup<string, NodeProto> _consumers =
            graph.Node.SelectMany(n => n.Input.Select(i => (i, n))).ToLookup(p => p.i, p => p.n);

        public bool IsInitializer(string name) => _initializers.ContainsKey(name);

        public IEnumerable<NodeProto> Consumers(string tensor, string opType) =>
            _consumers[tensor].Where(n => n.OpType == opType);

        public NodeProto Consumer(string tensor, string opType) =>
            Consumers(tensor, opType).SingleOrDefault()
            ?? throw new VeracityException($"unexpected ONNX graph: no single {opType} reads {tensor}");

        public long KernelSize(NodeProto conv) => conv.Attribute.Single(a => a.Name == "kernel_shape").Ints[0];

        public void CopyConv(NodeProto conv, TorchSharp.Modules.Conv2d target) => Copy(conv.Input[1], target.weight!);

        public void CopyBatchNorm(NodeProto bn, TorchSharp.Modules.BatchNorm2d target)
        {
            Copy(bn.Input[1], target.weight!);
            Copy(bn.Input[2], target.bias!);
            Copy(bn.Input[3], target.running_mean!);
            Copy(bn.Input[4], target.running_var!);
        }

        void Copy(string name, Tensor target)
        {
            var proto = _initializers[name];
            float[] values = proto.RawData.Length > 0
                ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(proto.RawData.Span).ToArray()
                : proto.FloatData.ToArray();
            if (values.Length != target.numel())
                throw new VeracityException($"ONNX tensor {name} has {values.Length} values, the layer needs {target.numel()}");
            using var source = tensor(values).reshape(target.shape);
            target.copy_(source);
        }
    }
}
