using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Veracity.Models;

/// <summary>The two-convolution residual block of ResNet-18/34.</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    internal readonly Conv2d conv1, conv2;
    internal readonly BatchNorm2d bn1, bn2;
    internal readonly Conv2d? downsample_conv;
    internal readonly BatchNorm2d? downsample_bn;

    public BasicBlock(long inChannels, long outChannels, long stride) : base(nameof(BasicBlock))
    {
        conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn2 = BatchNorm2d(outChannels);
        if (stride != 1 || inChannels != outChannels)
        {
            downsample_conv = Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
            downsample_bn = BatchNorm2d(outChannels);
        }
        RegisterComponents();
    }

    /// <remarks>
    /// Intermediates are disposed as soon as they are used: autograd keeps what it needs on the native side, and
    /// letting the managed handles wait for the step's dispose scope raised training's peak memory. ReLU and the
    /// residual sum work in place on batch-norm outputs (as torchvision does): batch norm's backward needs its input,
    /// not its output, so those buffers can be reused and one activation per layer is never allocated.
    /// </remarks>
    public override Tensor forward(Tensor x)
    {
        using var c1 = Convolve(conv1, x);
        using var r1 = BatchNorm(bn1, c1).relu_();
        using var c2 = Convolve(conv2, r1);
        using var projected = downsample_conv is null ? null : Convolve(downsample_conv, x);
        using var shortcut = projected is null ? null : BatchNorm(downsample_bn!, projected);
        var output = BatchNorm(bn2, c2);
        return output.add_(shortcut ?? x, Scalars.One).relu_();
    }

    /// <summary>
    /// Runs <paramref name="conv"/> in the input's precision, on the route <see cref="ConvolutionCheck"/> found
    /// correct for this shape on this CPU: channels-last where it is, else NCHW or float64 (the result comes back
    /// channels-last either way). For a bfloat16 input the float32 weights are cast on each call, so they are still
    /// stored, saved and updated in float32 (what CPU autocast does).
    /// </summary>
    internal static Tensor Convolve(Conv2d conv, Tensor x)
    {
        var weight = conv.weight!;
        var shape = ConvShape.Of(conv, x.shape[0], x.shape[2], x.shape[3]);
        bool backward = is_grad_enabled() && (x.requires_grad || weight.requires_grad);
        var route = ConvolutionCheck.RouteFor(shape, x.dtype, backward);
        using var input = ConvolutionCheck.Layout(Cast(x, route.Type), route.Layout);
        using var routedWeight = Cast(weight, route.Type);
        var output = functional.conv2d(input, routedWeight, conv.bias, conv.stride, conv.padding);
        if (route.Layout == ConvLayout.ChannelsLast && route.Type == x.dtype) return output;
        using (output)
        using (var cast = Cast(output, x.dtype))
            return ConvolutionCheck.Layout(cast, ConvLayout.ChannelsLast);
    }

    /// <summary><paramref name="x"/> in <paramref name="type"/>: a new handle either way, so callers dispose it alike.</summary>
    static Tensor Cast(Tensor x, ScalarType type) => x.dtype == type ? x.alias() : x.to(type);

    /// <summary>
    /// What <c>bn.call(x)</c> computes, with the training-time batch count incremented by a Scalar that outlives the
    /// call (TorchSharp's BatchNorm passes a temporary one; see <see cref="Scalars"/>).
    /// </summary>
    internal static Tensor BatchNorm(BatchNorm2d bn, Tensor x)
    {
        if (bn.training) bn.num_batches_tracked!.add_(Scalars.One, Scalars.One);
        return functional.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, bn.training,
            bn.momentum ?? throw new InvalidOperationException("cumulative batch norm is not used here"), bn.eps);
    }
}

/// <summary>
/// A ResNet of basic blocks with a global-average-pooled 512-d feature and a linear classifier. Kept small and
/// explicit (rather than reaching into TorchVision) so that imported weights map onto named layers one to one.
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor>
{
    internal readonly Conv2d conv1;
    internal readonly BatchNorm2d bn1;
    internal readonly Sequential layer1, layer2, layer3, layer4;
    internal readonly Linear fc;

    public const int FeatureSize = 512;

    /// <summary>
    /// Runs the convolutional trunk in bfloat16 (weights stay float32; the head and the loss see float32
    /// features). Worth it only on CPUs with native bfloat16 dot products (AVX512-BF16, AMX).
    /// </summary>
    public bool BFloat16 { get; set; }

    /// <summary>
    /// What the first convolution sees (<see cref="ModelInput"/>). The weights are the same for every kind but
    /// <see cref="ModelInput.RgbSrm"/>, which adds <see cref="residualStem"/>, a copy of the first convolution as it is
    /// when the input is set (the ImageNet weights, for a pretrained network).
    /// </summary>
    public ModelInput Input
    {
        get => input;
        set
        {
            if (value == ModelInput.RgbSrm && residualStem is null)
            {
                lock (TorchRandom.Lock) residualStem = StemConv2d();
                using (no_grad()) residualStem.weight!.copy_(conv1.weight!);
                register_module("conv1_residuals", residualStem);
            }
            input = value;
        }
    }

    ModelInput input = ModelInput.Rgb;

    /// <summary>The <see cref="ModelInput.RgbSrm"/> stem's second convolution, on the SRM residuals; its output is added to conv1's.</summary>
    internal Conv2d? residualStem;

    /// <summary>
    /// Freezes the stem and the stages up to and including <paramref name="through"/>: their parameters stop
    /// asking for gradients (so the optimiser is given only the rest, and backward stops early) and their batch
    /// norms keep the loaded statistics in training mode too.
    /// </summary>
    public void Freeze(FrozenStages through)
    {
        frozen = FrozenModules(through).ToList();
        foreach (var parameter in frozen.SelectMany(m => m.parameters())) parameter.requires_grad = false;
        train(training);
    }

    List<Module> frozen = [];

    IEnumerable<Module> FrozenModules(FrozenStages through)
    {
        if (through >= FrozenStages.Stem) foreach (var module in Stem) yield return module;
        Module[] stages = [layer1, layer2, layer3, layer4];
        for (int i = 0; i < stages.Length && through >= FrozenStages.Layer1 + i; i++) yield return stages[i];
    }

    /// <summary>The parameters from the input to the output: the stem, layer1 to layer4, the classifier.</summary>
    public IReadOnlyList<IReadOnlyList<Parameter>> ParametersByDepth() =>
        new Module[][] { Stem.ToArray(), [layer1], [layer2], [layer3], [layer4], [fc] }
            .Select(modules => (IReadOnlyList<Parameter>)modules.SelectMany(m => m.parameters()).ToList()).ToList();

    /// <summary>The first convolution(s) and their batch norm.</summary>
    IEnumerable<Module> Stem => residualStem is null ? [conv1, bn1] : [conv1, residualStem, bn1];

    public override void train(bool on = true)
    {
        base.train(on);
        if (on) foreach (var module in frozen) module.eval();
    }

    /// <summary>NNPACK off before the first network runs, so every CPU takes the same convolution paths (see <see cref="Nnpack"/>).</summary>
    static ResNet() => Nnpack.Disable();

    /// <param name="blocks">Blocks per stage: [2,2,2,2] is torchvision's ResNet-18, [2,2,2,3] the CNTK one.</param>
    public ResNet(IReadOnlyList<int> blocks, long classes) : base(nameof(ResNet))
    {
        if (blocks.Count != 4) throw new ArgumentException("a ResNet has four stages");
        lock (TorchRandom.Lock) // initial weights come from the global generator
        {
            conv1 = StemConv2d();
            bn1 = BatchNorm2d(64);
            layer1 = Stage(64, 64, blocks[0], stride: 1);
            layer2 = Stage(64, 128, blocks[1], stride: 2);
            layer3 = Stage(128, 256, blocks[2], stride: 2);
            layer4 = Stage(256, 512, blocks[3], stride: 2);
            fc = Linear(FeatureSize, classes);
        }
        RegisterComponents();
    }

    /// <summary>The stem's 7×7 convolution of stride 2, from the three input channels to 64.</summary>
    static Conv2d StemConv2d() => Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);

    public IEnumerable<BasicBlock> Blocks =>
        new[] { layer1, layer2, layer3, layer4 }.SelectMany(stage => stage.children().Cast<BasicBlock>());

    static Sequential Stage(long inChannels, long outChannels, int count, long stride) =>
        Sequential(Enumerable.Range(0, count).Select(i =>
            (Module<Tensor, Tensor>)new BasicBlock(i == 0 ? inChannels : outChannels, outChannels, i == 0 ? stride : 1)));

    /// <summary>
    /// The pooled 512-d feature vector, N×512. Activations are stored channels-last (NHWC in memory): oneDNN's
    /// convolutions then keep that layout instead of reordering around each layer, about 30% more images/s in
    /// training and inference on the CPUs measured (TorchSharp has no memory_format argument, hence permutes).
    /// Each convolution shape is checked once against float64 on this CPU (<see cref="ConvolutionCheck"/>).
    /// </summary>
    public Tensor Features(Tensor x)
    {
        using var lastStage = LastStage(x);
        using var averaged = functional.adaptive_avg_pool2d(lastStage, 1);
        return averaged.flatten(1);
    }

    /// <summary>
    /// The logits, N×2, and the class activation map of the deepfake class, N×h×w (h = w = size/32):
    /// Σ_k (w_fake,k − w_real,k)·A_k over the last stage's channels A_k. The head is linear on the average of
    /// A, so the map's spatial mean plus b_fake − b_real is exactly the logit margin that the softmax turns into
    /// the deepfake probability: this is Grad-CAM for this network, without gradients.
    /// </summary>
    public (Tensor Logits, Tensor Evidence) LogitsAndEvidence(Tensor x)
    {
        using var scope = NewDisposeScope();
        var lastStage = LastStage(x);
        var logits = fc.call(functional.adaptive_avg_pool2d(lastStage, 1).flatten(1));
        // A matrix product over channels rather than a 1×1 convolution: it never meets oneDNN's convolution kernels.
        var evidence = lastStage.permute(0, 2, 3, 1).matmul(EvidenceWeights());
        return (logits.MoveToOuterDisposeScope(), evidence.MoveToOuterDisposeScope());
    }

    /// <summary>w_fake − w_real, the 512 weights that turn the last stage into deepfake evidence.</summary>
    internal Tensor EvidenceWeights()
    {
        using var weight = fc.weight!.detach();
        return weight[1] - weight[0];
    }

    /// <summary>The last stage's activations, N×512×h×w, float32 (channels-last in memory).</summary>
    Tensor LastStage(Tensor x)
    {
        using var c1 = StemConvolution(x);
        using var r1 = BasicBlock.BatchNorm(bn1, c1).relu_();
        using var pooled = functional.max_pool2d(r1, 3, stride: 2, padding: 1);
        using var s1 = layer1.call(pooled);
        using var s2 = layer2.call(s1);
        using var s3 = layer3.call(s2);
        var s4 = layer4.call(s3);
        if (!BFloat16) return s4;
        using (s4) return s4.to(ScalarType.Float32);
    }

    /// <summary>The first convolution of what <see cref="Input"/> makes of <paramref name="x"/>, before its batch norm.</summary>
    Tensor StemConvolution(Tensor x)
    {
        if (Input == ModelInput.RgbSrm)
        {
            using var rgb = StemConvolution(conv1, x);
            using var srm = RichModelResiduals(x);
            using var residuals = StemConvolution(residualStem!, srm);
            return rgb.add(residuals, Scalars.One);
        }
        using var input = Input switch
        {
            ModelInput.Npr => NeighbouringPixelResiduals(x),
            ModelInput.Srm => RichModelResiduals(x),
            ModelInput.Dct => BlockSpectrum(x),
            _ => x.alias(),
        };
        return StemConvolution(conv1, input);
    }

    Tensor StemConvolution(Conv2d conv, Tensor x)
    {
        using var cast = BFloat16 ? x.to(ScalarType.BFloat16) : x.alias();
        using var channelsLast = ConvolutionCheck.Layout(cast, ConvLayout.ChannelsLast);
        return BasicBlock.Convolve(conv, channelsLast);
    }

    /// <summary>x − up(down(x)) with 2× nearest down- and upsampling: each 2×2 cell minus its top-left pixel.</summary>
    static Tensor NeighbouringPixelResiduals(Tensor x)
    {
        using var down = x[TensorIndex.Ellipsis, TensorIndex.Slice(null, null, 2), TensorIndex.Slice(null, null, 2)];
        using var rows = down.repeat_interleave(2, 2, x.shape[2]);
        using var up = rows.repeat_interleave(2, 3, x.shape[3]);
        return x - up;
    }

    /// <summary>
    /// The <see cref="ModelInput.Srm"/> kernels, out × in × 5 × 5: output k is kernel k on the mean of the three
    /// channels (each kernel sums to zero, so flat areas give 0).
    /// </summary>
    internal static Tensor RichModelKernels() => tensor(RichModelWeights, [3, 3, 5, 5]);

    static readonly float[] RichModelWeights = MakeRichModelWeights();

    static float[] MakeRichModelWeights()
    {
        float[][] kernels =
        [
            [-1, 2, -2, 2, -1, 2, -6, 8, -6, 2, -2, 8, -12, 8, -2, 2, -6, 8, -6, 2, -1, 2, -2, 2, -1],
            [0, 0, 0, 0, 0, 0, -1, 2, -1, 0, 0, 2, -4, 2, 0, 0, -1, 2, -1, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ];
        float[] scales = [12, 4, 2];
        return kernels.SelectMany((k, i) => Enumerable.Repeat(k.Select(v => v / scales[i] / 3), 3).SelectMany(v => v)).ToArray();
    }

    static Tensor RichModelResiduals(Tensor x)
    {
        using var kernels = RichModelKernels();
        return functional.conv2d(x, kernels, padding: [2, 2]);
    }

    /// <summary>Floor of <see cref="ModelInput.Dct"/>'s log-magnitude: about one grey level after normalisation.</summary>
    internal const float SpectrumFloor = 1f / 64;

    /// <summary>
    /// The <see cref="ModelInput.Dct"/> basis, 192 × 1 × 8 × 8 for a convolution with three groups of stride 8:
    /// output 64·c + 8·u + v is the orthonormal DCT-II coefficient (u down, v across) of channel c's block, the order
    /// in which a pixel shuffle of 8 lays it back at row u, column v of the block.
    /// </summary>
    internal static Tensor BlockDctKernels() => tensor(BlockDctBasis, [192, 1, 8, 8]);

    static readonly float[] BlockDctBasis = MakeBlockDctBasis();

    static float[] MakeBlockDctBasis()
    {
        static double Weight(int k, int n) => (k == 0 ? Math.Sqrt(1.0 / 8) : 0.5) * Math.Cos((2 * n + 1) * k * Math.PI / 16);
        var basis = new float[3 * 64 * 64];
        for (int c = 0; c < 3; c++)
            for (int u = 0; u < 8; u++)
                for (int v = 0; v < 8; v++)
                    for (int i = 0; i < 8; i++)
                        for (int j = 0; j < 8; j++)
                            basis[((c * 64 + u * 8 + v) * 8 + i) * 8 + j] = (float)(Weight(u, i) * Weight(v, j));
        return basis;
    }

    static Tensor BlockSpectrum(Tensor x)
    {
        using var kernels = BlockDctKernels();
        using var coefficients = functional.conv2d(x, kernels, strides: [8, 8], groups: 3);
        using var laidBack = functional.pixel_shuffle(coefficients, 8);
        using var floor = SpectrumFloor.ToScalar();
        using var magnitude = laidBack.abs();
        return magnitude.add_(floor, Scalars.One).log();
    }

    /// <summary>Every distinct convolution shape a batch of <paramref name="batch"/> images of <paramref name="size"/> px meets, in order.</summary>
    public IReadOnlyList<ConvShape> ConvShapes(long batch, long size)
    {
        var shapes = new List<ConvShape>();
        long Add(Conv2d conv, long inputSize)
        {
            var shape = ConvShape.Of(conv, batch, inputSize, inputSize);
            shapes.Add(shape);
            return shape.OutputHeight;
        }
        long side = (Add(conv1, size) + 1) / 2; // the 3×3/2 max pool, padding 1, halves it (rounding up)
        foreach (var block in Blocks)
        {
            if (block.downsample_conv is not null) Add(block.downsample_conv, side);
            long inner = Add(block.conv1, side);
            Add(block.conv2, inner);
            side = inner;
        }
        return shapes.Distinct().ToList();
    }

    public override Tensor forward(Tensor x)
    {
        using var features = Features(x);
        return fc.call(features);
    }
}
