using Veracity.Data;
using static TorchSharp.torch;

namespace Veracity.Models;

/// <summary>
/// One registry entry: how to build the network (2-class logits), what pixels it expects and where its starting
/// weights come from. Adding a backbone is adding one entry to <see cref="Backbones.All"/>.
/// </summary>
public sealed record BackboneSpec(string Name, string Summary, Normalize Normalize, int DefaultImageSize,
    string Weights, bool Pretrained, Func<bool, nn.Module<Tensor, Tensor>> Build);

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
            }),
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
    public static nn.Module<Tensor, Tensor> Create(string name, bool pretrained = true, int seed = 0)
    {
        var spec = Get(name);
        return TorchRandom.Seeded(seed, () => spec.Build(pretrained && spec.Pretrained));
    }
}
