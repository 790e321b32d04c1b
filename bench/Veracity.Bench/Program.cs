// Decode benchmark: JPEG decode + resize throughput on one core, and the batching loader on all cores.
// Usage: dotnet run --project bench/Veracity.Bench -c Release -- [--count N] [--size S] [--target T] [--seconds K]
using System.Diagnostics;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Synth;

int count = Arg("--count", 200), size = Arg("--size", 512), target = Arg("--target", 256), seconds = Arg("--seconds", 5);

string dir = Directory.CreateTempSubdirectory("veracity-bench-").FullName;
try
{
    var rows = new List<LabelRow>();
    Parallel.For(0, count, i =>
    {
        var image = SceneRenderer.Render(size, new Random(i));
        File.WriteAllBytes(Path.Combine(dir, $"{i:D5}.jpg"), SkiaPixels.EncodeJpeg(image, 90));
    });
    for (int i = 0; i < count; i++) rows.Add(new LabelRow($"{i:D5}.jpg", i % 2, i + 2));
    string[] paths = rows.Select(r => Path.Combine(dir, r.Name)).ToArray();

    Console.WriteLine($"CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores; .NET {Environment.Version}");
    Console.WriteLine($"{count} JPEGs {size}x{size} quality 90 (synthetic scenes), decoded to {target}x{target} RGB");

    var decoder = new ImageDecoder();
    Report("decode+resize, 1 core (scaled JPEG decode)", () => { foreach (var p in paths) decoder.Decode(p, target, target); return paths.Length; });
    Report("full-size decode only, 1 core (for comparison)", () => { foreach (var p in paths) decoder.Decode(p); return paths.Length; });

    var transform = new SampleTransform(target, target, [new RandomHorizontalFlip(), new RandomVerticalFlip()], Normalize.ImageNet);
    var dataset = new ImageDataset(dir, rows, transform);
    foreach (int workers in new[] { 1, Environment.ProcessorCount })
    {
        var loader = new DataLoader(dataset, new LoaderOptions(BatchSize: 40, Shuffle: true, Workers: workers));
        int epoch = 0;
        Report($"loader: decode+flip+normalise into 40-image tensors, {workers} worker(s)", () =>
        {
            int n = 0;
            foreach (var batch in loader.Epoch(epoch++)) using (batch) n += batch.Size;
            return n;
        });
    }
}
finally
{
    Directory.Delete(dir, recursive: true);
}

void Report(string what, Func<int> pass)
{
    pass(); // warm-up
    var clock = Stopwatch.StartNew();
    int images = 0;
    while (clock.Elapsed.TotalSeconds < seconds) images += pass();
    Console.WriteLine($"{what}: {images / clock.Elapsed.TotalSeconds:F0} images/s ({images} images in {clock.Elapsed.TotalSeconds:F1} s)");
}

int Arg(string name, int fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : fallback;
}

static string CpuModel() =>
    File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown"
        : "unknown";
