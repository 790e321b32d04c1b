using System.Text.Json;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Bench;

/// <summary>
/// Writes Veracity's starting network (resnet18 with the imported ImageNet weights and the seeded new head) as a
/// plain tensor dump the Python peer reads with numpy: index.json (name → shape, offset) and tensors.bin
/// (little-endian float32). Both sides of the speed comparison then start from the same weights.
/// </summary>
static class TorchWeights
{
    public static void Run(BenchOptions options)
    {
        string outDir = options.String("--out", "peer-weights");
        Directory.CreateDirectory(outDir);
        using var model = Backbones.Create("resnet18", seed: options.Int("--seed", 0));
        var index = new Dictionary<string, object>();
        using var blob = File.Create(Path.Combine(outDir, "tensors.bin"));
        foreach (var (name, value) in model.state_dict())
        {
            if (value.dtype != ScalarType.Float32) continue; // counters such as num_batches_tracked
            float[] data = value.contiguous().data<float>().ToArray();
            index[name] = new { shape = value.shape, offset = blob.Position / sizeof(float) };
            blob.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        }
        File.WriteAllText(Path.Combine(outDir, "index.json"), JsonSerializer.Serialize(index));
        Console.WriteLine($"Wrote {index.Count} tensors to {Path.GetFullPath(outDir)}");
    }
}
