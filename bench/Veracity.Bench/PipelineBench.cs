using System.Diagnostics;
using Veracity.Data;
using Veracity.Models;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Bench;

/// <summary>
/// The training data pipeline with the model removed: decode, the preset's augmentations, normalisation and the
/// copy into batch tensors, exactly as <see cref="Trainer"/> builds it. Shows whether loading could ever be the bottleneck.
/// </summary>
static class PipelineBench
{
    public static void Run(BenchOptions options)
    {
        string labels = options.String("--labels", ""), images = options.String("--images", "");
        if (labels == "" || images == "") throw new ArgumentException("pipeline needs --labels FILE --images DIR");
        var config = TrainConfig.FromPreset(options.String("--preset", "seed"));
        int workers = options.Int("--workers", 2), batchSize = options.Int("--batch", 40), limit = options.Int("--limit", 1000);
        var normalize = Backbones.Get(config.Model).Normalize;
        Console.WriteLine($"preset {config.Preset}; {workers} workers; batch {batchSize}; first {limit} rows of {labels}");
        foreach (int size in options.Ints("--sizes", [224, 256]))
        {
            var transform = new SampleTransform(size, size, config.TrainAugmentations(), normalize);
            var loader = new DataLoader(ImageDataset.FromLabelFile(labels, images, transform, limit),
                new LoaderOptions(batchSize, Shuffle: true, Workers: workers));
            Drain(loader, epoch: 0); // warm-up: JIT and the page cache
            var clock = Stopwatch.StartNew();
            int count = Drain(loader, epoch: 1);
            Console.WriteLine(
                $"pipeline {size}px: {count / clock.Elapsed.TotalSeconds:F1} images/s ({count} images in {clock.Elapsed.TotalSeconds:F1} s)");
        }
    }

    static int Drain(DataLoader loader, int epoch)
    {
        int count = 0;
        foreach (var batch in loader.Epoch(epoch))
            using (batch)
                count += batch.Size;
        return count;
    }
}
