using Veracity.Imaging;
using static TorchSharp.torch;

namespace Veracity.Models;

/// <summary>
/// One registry entry: how to build the network (2-class logits), what pixels it expects, where its starting
/// weights come from and what it can do. Adding a backbone is adding one entry to <see cref="Backbones.All"/>;
/// callers ask the entry, never the backbone's name or type.
/// </summary>
/// <param name="SupportsBFloat16">Its trunk can run in bfloat16 with float32 weights (<see cref="ResNet.BFloat16"/>).</param>
/// <param name="HasStages">It is a <see cref="ResNet"/>: its input can be <see cref="ModelInput.Npr"/> and its stages frozen.</param>
/// <param name="OnnxExportable">Inference.OnnxExport can write it as an ONNX graph.</param>
/// <param name="FollowsScalarRule">
/// Every number its modules pass to libtorch outlives the call (<see cref="Scalars"/>). False for the TorchVision
/// modules: their BatchNorm batch count and residual sums pass TorchSharp's temporary Scalars.
/// </param>
public sealed record BackboneSpec(string Name, string Summary, Normalize Normalize, int DefaultImageSize,
    string Weights, bool Pretrained, Func<bool, nn.Module<Tensor, Tensor>> Build,
    bool SupportsBFloat16 = false, bool HasStages = false, bool OnnxExportable = false, bool FollowsScalarRule = false)
{
    /// <summary>The concrete type for a run: auto becomes bfloat16 where this backbone supports it and the CPU has native bfloat16.</summary>
    public Precision Resolve(Precision requested) => requested switch
    {
        Precision.Auto => SupportsBFloat16 && CpuInfo.Current.HasBFloat16 ? Precision.BFloat16 : Precision.Float32,
        _ => requested,
    };
}

public static class Backbones
{
    public const int Classes = 2; // 0 = real, 1 = deepfake
    public const string Default = "resnet18";

    public static IReadOnlyList<BackboneSpec> All { get; } =
    [
        new("resnet18", "ResNet-18 as trained by CNTK: basic blocks [2,2,2,3], 512-d features, Linear(512, 2) head",
            Normalize.CntkBgr, 256, "ImageNet (CNTK ResNet18.onnx from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1)", true,
            pretrained =>
            {
                var model = new ResNet(CntkResNetImport.Blocks, Classes);
                if (pretrained) CntkResNetImport.Load(model);
                return model;
            }, SupportsBFloat16: true, HasStages: true, OnnxExportable: true, FollowsScalarRule: true),
        new("resnet50", "TorchVision ResNet-50 with a 2-class head",
            Normalize.ImageNet, 256, "none: random initialisation", false,
            _ => TorchSharp.torchvision.models.resnet50(num_classes: Classes)),
        new("mobilenet_v3_small", "TorchVision MobileNetV3-Small (its 1000-way classifier) followed by Linear(1000, 2)",
            Normalize.ImageNet, 224, "none: random initialisation", false,
            _ => nn.Sequential(("net", TorchSharp.torchvision.models.mobilenet_v3_small()), ("head", nn.Linear(1000, Classes)))),
        new("mobilenet_v3_large", "TorchVision MobileNetV3-Large (its 1000-way classifier) followed by Linear(1000, 2)",
            Normalize.ImageNet, 224, "none: random initialisation", false,
            _ => nn.Sequential(("net", TorchSharp.torchvision.models.mobilenet_v3_large()), ("head", nn.Linear(1000, Classes)))),
    ];

    public static BackboneSpec Get(string name) =>
        All.FirstOrDefault(b => b.Name == name)
        ?? throw new VeracityException($"unknown model '{name}'; choose from {string.Join(", ", All.Select(b => b.Name))}");

    /// <summary>
    /// Builds the network; <paramref name="pretrained"/> loads the entry's starting weights where it has any. The
    /// weights it does not load (the head, or all of them) are drawn with the global generator seeded to
    /// <paramref name="seed"/>, with no other thread drawing meanwhile (<see cref="TorchRandom"/>).
    /// </summary>
    /// <remarks><paramref name="input"/> and <paramref name="freeze"/> other than the defaults need a backbone with stages.</remarks>
    public static nn.Module<Tensor, Tensor> Create(string name, bool pretrained = true, int seed = 0, ModelInput input = ModelInput.Rgb,
        FrozenStages freeze = FrozenStages.None)
    {
        var spec = Get(name);
        bool staged = input != ModelInput.Rgb || freeze != FrozenStages.None;
        if (staged && !spec.HasStages) throw new VeracityException($"'{name}' has no stages: its input cannot be {input} nor its stages frozen");
        var model = TorchRandom.Seeded(seed, () => spec.Build(pretrained && spec.Pretrained));
        if (!staged) return model;
        var resnet = (ResNet)model;
        resnet.Input = input;
        resnet.Freeze(freeze);
        return resnet;
    }
}
