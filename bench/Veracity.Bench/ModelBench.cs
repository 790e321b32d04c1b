using Veracity.Models;
using Veracity.Training;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Bench;

/// <summary>ResNet-18 (the CNTK layout Veracity trains) training and inference throughput on random batches: the model alone,
/// no data loading.</summary>
static class ModelBench
{
    public static void Run(BenchOptions options)
    {
        int batchSize = options.Int("--batch", 32), seconds = options.Int("--seconds", 20);
        string modes = options.String("--modes", "train,inference");
        var precision = Backbones.Get(Backbones.Default).Resolve(Enum.Parse<Precision>(options.String("--precision", "float32"), ignoreCase: true));
        Console.WriteLine($"libtorch threads: {get_num_threads()}; batch {batchSize}; resnet18 (blocks [2,2,2,3]), ImageNet weights; {precision}");
        foreach (int size in options.Ints("--sizes", [128, 224, 256]))
        {
            using var model = (ResNet)Backbones.Create("resnet18");
            model.BFloat16 = precision == Precision.BFloat16;
            using var optimizer = Optimizers.Create(OptimizerKind.Adam, [model.parameters()], 1e-4, 0);
            using var images = randn(batchSize, 3, size, size);
            using var labels = randint(0, 2, [batchSize], dtype: ScalarType.Int64);

            if (modes.Contains("train")) Train(model, optimizer, images, labels, size, seconds);
            if (modes.Contains("inference")) Infer(model, images, size, seconds);
        }
    }

    static void Train(ResNet model, optim.Optimizer optimizer, Tensor images, Tensor labels, int size, int seconds)
    {
        model.train();
        BenchOptions.Report($"train {size}px (forward+backward+Adam)", seconds, () =>
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(images), labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            return (int)images.shape[0];
        });
    }

    static void Infer(ResNet model, Tensor images, int size, int seconds)
    {
        model.eval();
        BenchOptions.Report($"inference {size}px (no grad)", seconds, () =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.call(images);
            return (int)images.shape[0];
        });
    }
}
