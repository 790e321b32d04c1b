using System.Diagnostics;
using Veracity.Data;
using Veracity.Imaging;
using static TorchSharp.torch;

namespace Veracity.Tests;

public class DataLoaderTests(SmallSynthSet data) : IClassFixture<SmallSynthSet>
{
    ImageDataset Dataset(int size = 32, bool augment = false) =>
        ImageDataset.FromLabelFile(data.TrainLabels, data.TrainImages, new SampleTransform(size, size,
            augment ? [new RandomHorizontalFlip(), new RandomVerticalFlip()] : [], Normalize.ImageNet));

    static List<(float[] Pixels, long[] Labels, int[] Indices)> Collect(DataLoader loader, int epoch)
    {
        var batches = new List<(float[], long[], int[])>();
        foreach (var batch in loader.Epoch(epoch))
            using (batch)
                batches.Add((batch.Images.data<float>().ToArray(), batch.Labels!.data<long>().ToArray(), batch.Indices));
        return batches;
    }

    [Fact]
    public void Batches_have_the_right_shapes_labels_and_count()
    {
        var dataset = Dataset();
        var loader = new DataLoader(dataset, new LoaderOptions(BatchSize: 5, Workers: 2));
        int seen = 0;
        foreach (var batch in loader.Epoch())
            using (batch)
            {
                Assert.Equal(ScalarType.Float32, batch.Images.dtype);
                Assert.Equal(new long[] { batch.Size, 3, 32, 32 }, batch.Images.shape);
                Assert.Equal(batch.Indices.Select(i => (long)dataset.Targets![i]), batch.Labels!.data<long>().ToArray());
                seen += batch.Size;
            }
        Assert.Equal(dataset.Count, seen);
        Assert.Equal((dataset.Count + 4) / 5, loader.BatchCount);
    }

    [Fact]
    public void Evaluation_keeps_the_file_order()
    {
        var loader = new DataLoader(Dataset(), new LoaderOptions(BatchSize: 7, Shuffle: false, Workers: 3));
        Assert.Equal(Enumerable.Range(0, loader.Dataset.Count), Collect(loader, 0).SelectMany(b => b.Indices));
    }

    [Fact]
    public void Shuffling_is_seeded_differs_by_epoch_and_covers_every_row()
    {
        var dataset = Dataset(augment: true);
        var a = new DataLoader(dataset, new LoaderOptions(BatchSize: 6, Shuffle: true, Seed: 3, Workers: 1));
        var b = new DataLoader(dataset, new LoaderOptions(BatchSize: 6, Shuffle: true, Seed: 3, Workers: 3));
        var c = new DataLoader(dataset, new LoaderOptions(BatchSize: 6, Shuffle: true, Seed: 4, Workers: 2));

        var epochA = Collect(a, 1);
        var epochB = Collect(b, 1);
        // Same seed and epoch: identical batches, pixels included, whatever the number of workers.
        Assert.Equal(epochA.SelectMany(x => x.Indices), epochB.SelectMany(x => x.Indices));
        Assert.Equal(epochA.SelectMany(x => x.Pixels), epochB.SelectMany(x => x.Pixels));

        var order = epochA.SelectMany(x => x.Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, dataset.Count), order.Order());
        Assert.NotEqual(Enumerable.Range(0, dataset.Count), order);
        Assert.NotEqual(order, Collect(a, 2).SelectMany(x => x.Indices));
        Assert.NotEqual(order, Collect(c, 1).SelectMany(x => x.Indices));
    }

    [Theory]
    [InlineData(7)] // epochs shorter than a pass
    [InlineData(53)] // longer than a pass: an epoch spans two or three passes
    public void Epochs_of_a_set_size_take_the_passes_in_turn_so_every_row_is_seen_once_per_pass(int epochSize)
    {
        var dataset = Dataset();
        var passes = new DataLoader(dataset, new LoaderOptions(BatchSize: 5, Shuffle: true, Seed: 3));
        var sized = new DataLoader(dataset, new LoaderOptions(BatchSize: 5, Shuffle: true, Seed: 3) { EpochSize = epochSize });
        Assert.Equal((epochSize + 4) / 5, sized.BatchCount);

        const int epochs = 6;
        var laidEndToEnd = Enumerable.Range(0, epochs).SelectMany(sized.Order).ToArray();
        var expected = Enumerable.Range(0, epochs * epochSize / dataset.Count + 1).SelectMany(passes.Order).Take(epochs * epochSize);
        Assert.Equal(expected, laidEndToEnd);
        foreach (var pass in laidEndToEnd.Chunk(dataset.Count).Where(p => p.Length == dataset.Count))
            Assert.Equal(Enumerable.Range(0, dataset.Count), pass.Order());
        Assert.Equal(sized.Order(4), Collect(sized, 4).SelectMany(b => b.Indices));
    }

    [Fact]
    public void Flips_change_pixels_but_not_their_set()
    {
        var plain = Dataset();
        var flipped = new SampleTransform(32, 32, [new RandomHorizontalFlip(P: 1)], Normalize.ImageNet);
        var a = new float[plain.Transform.FloatCount];
        var b = new float[plain.Transform.FloatCount];
        plain.Load(0, new Random(0), a);
        new ImageDataset(plain.ImageRoot, plain.Names, plain.Targets, flipped).Load(0, new Random(0), b);
        Assert.NotEqual(a, b);
        // Row 3 of channel 0 reversed is the flipped row.
        Assert.Equal(a.AsSpan(3 * 32, 32).ToArray().Reverse(), b.AsSpan(3 * 32, 32).ToArray());
    }

    [Fact]
    public void Normalisation_follows_the_backbone()
    {
        var image = new Imaging.RgbImage(1, 1, [255, 128, 0]);
        var chw = new float[3];
        Normalize.ImageNet.WriteChw(image, chw);
        Assert.Equal((1 - 0.485f) / 0.229f, chw[0], 4);
        Assert.Equal((0 - 0.406f) / 0.225f, chw[2], 4);
        Normalize.CntkBgr.WriteChw(image, chw);
        Assert.Equal([0 - 103.06f, 128 - 115.90f, 255 - 123.15f], chw);
    }

    [Fact]
    public void Single_samples_come_as_chw_tensors()
    {
        using var image = Dataset().Get(2, new Random(0));
        Assert.Equal(new long[] { 3, 32, 32 }, image.shape);
    }

    [Fact]
    public void A_bad_image_fails_the_epoch_with_its_name()
    {
        using var dir = new TempDir();
        File.Copy(Path.Combine(data.TrainImages, File.ReadLines(data.TrainLabels).ElementAt(1).Split(',')[0]), dir.File("good.jpg"));
        File.WriteAllText(dir.File("bad.jpg"), "not an image");
        var rows = new[] { new LabelRow("good.jpg", 0, 2), new LabelRow("bad.jpg", 1, 3) };
        var loader = new DataLoader(ImageDataset.Labelled(dir.Path, rows, SampleTransform.Evaluation(16, 16, Normalize.ImageNet)),
            new LoaderOptions(BatchSize: 1));
        var error = Assert.Throws<Imaging.ImageDecodeException>(() => Collect(loader, 0));
        Assert.EndsWith("bad.jpg", error.Path);
    }

    [Fact]
    public void Unlabelled_images_load_without_labels()
    {
        var labelled = Dataset();
        var unlabelled = new ImageDataset(labelled.ImageRoot, labelled.Names, targets: null, labelled.Transform);
        using var batch = new DataLoader(unlabelled, new LoaderOptions(BatchSize: 4)).Epoch().First();
        Assert.Null(batch.Labels);
        using var first = new DataLoader(labelled, new LoaderOptions(BatchSize: 4)).Epoch().First();
        Assert.Equal(first.Images.data<float>().ToArray(), batch.Images.data<float>().ToArray());
    }
}

/// <summary>Measures the whole process's memory, so it runs alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection;

[Collection(nameof(MemoryCollection))]
public class LoaderMemoryTests(SmallSynthSet data) : IClassFixture<SmallSynthSet>
{
    [Fact]
    public void Memory_stays_flat_over_thousands_of_batches()
    {
        // As every Veracity entry point does at start; without it glibc's heaps keep freed batches (+42–72 MiB here).
        Assert.True(NativeHeap.LimitFragmentation());
        var loader = new DataLoader(ImageDataset.FromLabelFile(data.TrainLabels, data.TrainImages,
            new SampleTransform(32, 32, [new RandomHorizontalFlip(), new RandomVerticalFlip()], Normalize.ImageNet)),
            new LoaderOptions(BatchSize: 4, Shuffle: true, Workers: 2));
        long Rss()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            using var process = Process.GetCurrentProcess();
            return process.WorkingSet64;
        }

        int batches = 0;
        void Run(int epochs)
        {
            for (int epoch = 0; epoch < epochs; epoch++)
                foreach (var batch in loader.Epoch(epoch))
                    using (batch)
                    {
                        using var mean = batch.Images.mean();
                        batches++;
                    }
        }

        // Warm up pools, caches and the allocator's arenas: inside the full test run (other classes' tensors freed
        // before) RSS still rose by 42–73 MiB over the first few hundred epochs here, then stayed flat.
        Run(200);
        int warmUp = batches;
        long before = Rss();
        Run(600);
        long after = Rss();
        int measured = batches - warmUp;
        Assert.True(measured > 5000, $"only {measured} batches");
        // The bound is set against the leak it must catch: keeping one 4×3×32×32 float batch per step would add
        // 48 KiB × 5,400 = 253 MiB. A fixed 40 MiB bound failed one CI run at +51 MiB (allocator noise inside the
        // full suite, not growth per batch), so allow up to half the leak.
        long oneBatchLeak = (long)measured * 4 * 3 * 32 * 32 * sizeof(float);
        Assert.True(after - before < oneBatchLeak / 2,
            $"RSS grew by {(after - before) >> 20} MiB over {measured} batches (leaking every batch: {oneBatchLeak >> 20} MiB)");
    }
}
