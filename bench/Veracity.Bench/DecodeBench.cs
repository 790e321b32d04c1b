using Veracity.Data;
using Veracity.Imaging;
using Veracity.Synth;

namespace Veracity.Bench;

/// <summary>JPEG decode + resize on one core, and the batching loader on all cores.</summary>
static class DecodeBench
{
    public static void Run(BenchOptions options)
    {
        int count = options.Int("--count", 200), size = options.Int("--size", 512), target = options.Int("--target", 256);
        int seconds = options.Int("--seconds", 5);
        string dir = Directory.CreateTempSubdirectory("veracity-bench-").FullName;
        try
        {
            Parallel.For(0, count, i => File.WriteAllBytes(Path.Combine(dir, $"{i:D5}.jpg"),
                SkiaPixels.EncodeJpeg(SceneRenderer.Render(size, new Random(i)), 90)));
            var rows = Enumerable.Range(0, count).Select(i => new LabelRow($"{i:D5}.jpg", i % 2, i + 2)).ToList();
            string[] paths = rows.Select(r => Path.Combine(dir, r.Name)).ToArray();
            Console.WriteLine($"{count} JPEGs {size}x{size} quality 90 (synthetic scenes), decoded to {target}x{target} RGB");

            var decoder = new ImageDecoder();
            BenchOptions.Report("decode+resize, 1 core (scaled JPEG decode)", seconds, () =>
            {
                foreach (var p in paths) decoder.Decode(p, target, target);
                return paths.Length;
            });
            BenchOptions.Report("full-size decode only, 1 core (for comparison)", seconds, () =>
            {
                foreach (var p in paths) decoder.Decode(p);
                return paths.Length;
            });

            string prepared = Path.Combine(dir, "prepared");
            Prepare.Run(WriteLabels(dir, rows), dir, target, prepared);
            string[] preparedPaths = rows.Select(r => Path.Combine(prepared, Path.GetFileName(dir), r.Name)).ToArray();
            BenchOptions.Report($"decode of `veracity prepare` copies ({target}px PNG), 1 core", seconds, () =>
            {
                foreach (var p in preparedPaths) decoder.Decode(p, target, target);
                return preparedPaths.Length;
            });

            var transform = new SampleTransform(target, target, [new RandomHorizontalFlip(), new RandomVerticalFlip()], Normalize.ImageNet);
            var dataset = ImageDataset.Labelled(dir, rows, transform);
            foreach (int workers in new[] { 1, Environment.ProcessorCount })
            {
                var loader = new DataLoader(dataset, new LoaderOptions(BatchSize: 40, Shuffle: true, Workers: workers));
                int epoch = 0;
                BenchOptions.Report($"loader: decode+flip+normalise into 40-image tensors, {workers} worker(s)", seconds, () =>
                {
                    int n = 0;
                    foreach (var batch in loader.Epoch(epoch++))
                        using (batch) n += batch.Size;
                    return n;
                });
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static string WriteLabels(string dir, IReadOnlyList<LabelRow> rows)
    {
        string path = Path.Combine(dir, "labels.txt");
        CsvFiles.WriteLabels(path, rows.Select(r => (r.Name, r.Target)));
        return path;
    }
}
