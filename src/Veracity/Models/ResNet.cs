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

    public override Tensor forward(Tensor x)
    {
        var y = functional.relu(bn1.call(conv1.call(x)));
        y = bn2.call(conv2.call(y));
        var shortcut = downsample_conv is null ? x : downsample_bn!.call(downsample_conv.call(x));
        return functional.relu(y + shortcut);
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

    /// <param name="blocks">Blocks per stage: [2,2,2,2] is torchvision's ResNet-18, [2,2,2,3] the CNTK one.</param>
    public ResNet(IReadOnlyList<int> blocks, long classes) : base(nameof(ResNet))
    {
        if (blocks.Count != 4) throw new ArgumentException("a ResNet has four stages");
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        layer1 = Stage(64, 64, blocks[0], stride: 1);
        layer2 = Stage(64, 128, blocks[1], stride: 2);
        layer3 = Stage(128, 256, blocks[2], stride: 2);
        layer4 = Stage(256, 512, blocks[3], stride: 2);
        fc = Linear(FeatureSize, classes);
        RegisterComponents();
    }

    public IEnumerable<BasicBlock> Blocks =>
        new[] { layer1, layer2, layer3, layer4 }.SelectMany(stage => stage.children().Cast<BasicBlock>());

    static Sequential Stage(long inChannels, long outChannels, int count, long stride) =>
        Sequential(Enumerable.Range(0, count).Select(i =>
            (Module<Tensor, Tensor>)new BasicBlock(i == 0 ? inChannels : outChannels, outChannels, i == 0 ? stride : 1)));

    /// <summary>The pooled 512-d feature vector, N×512.</summary>
    public Tensor Features(Tensor x)
    {
        x = functional.relu(bn1.call(conv1.call(x)));
        x = functional.max_pool2d(x, 3, stride: 2, padding: 1);
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        return functional.adaptive_avg_pool2d(x, 1).flatten(1);
    }

    public override Tensor forward(Tensor x) => fc.call(Features(x));
}
