using Veracity.Synth;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Tests;

public class LearningTests
{
    /// <summary>The whole stack really learns: pretrained ResNet, loader, augmentations, optimiser and validation.</summary>
    [Fact]
    public void Short_training_on_small_synthetic_images_separates_the_classes()
    {
        using var dir = new TempDir();
        SyntheticDataset.Generate(new SynthOptions(dir.Path, Count: 320, Size: 64, Seed: 11, ValFraction: 0.25,
            ManipulationKinds: [Manipulations.Splice, Manipulations.Checkerboard]));
        var config = TrainConfig.DefaultPreset with
        {
            ImageSize = 64, Epochs = 5, WarmupEpochs = 1, BatchSize = 16, LearningRate = 5e-4, LogEvery = 1000, Precision = Models.Precision.Float32,
        };
        var result = Trainer.Train(config, new TrainData(Path.Combine(dir.Path, "trainset_label.txt"), Path.Combine(dir.Path, "trainset"),
            Path.Combine(dir.Path, "valset_label.txt"), Path.Combine(dir.Path, "valset"), 0), Path.Combine(dir.Path, "run"), new RecordingObserver());

        // Chance is 0.5; 80 validation images put about ±0.035 of noise on one AUC, and the figure moves with the CPU:
        // best 0.897 on AMD Zen 5 (0.895 under ONEDNN_MAX_CPU_ISA=AVX2; above 0.9 on the Intel Xeon of earlier
        // sessions) and 0.941 with synth seed 12. 0.8 clears that spread and still fails a stack that does not learn.
        Assert.True(result.BestScore > 0.8, $"best validation AUC {result.BestScore:F4}; per epoch: " +
            string.Join(", ", result.Epochs.Select(e => e.ValAuc?.ToString("F3"))));
        Assert.True(result.Epochs[^1].TrainLoss < result.Epochs[0].TrainLoss, "training loss did not fall");
    }
}
