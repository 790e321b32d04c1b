using System.Diagnostics;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Bench;

/// <summary>
/// Every convolution shape of resnet18 at the given batch sizes and image sizes, in float32 and bfloat16,
/// channels-last and NCHW, forward and backward, against float64: the table behind <see cref="ConvolutionCheck"/>.
/// Run it with ONEDNN_VERBOSE=1 in the environment to see which oneDNN kernel (and weight blocking) each one gets.
/// </summary>
static class ConvBench
{
    public static void Run(BenchOptions options)
    {
        Console.WriteLine($"libtorch threads: {get_num_threads()}; error = max |x - float64| / max |float64|");
        using var model = new ResNet(CntkResNetImport.Blocks, Backbones.Classes);
        var types = new[] { ScalarType.Float32, ScalarType.BFloat16 };
        int failures = 0;
        Console.WriteLine($"{"shape",-32} {"type",-9} {"layout",-13} {"pass",-9} {"error",9} {"tolerance",9} {"ms",7}");
        foreach (int size in options.Ints("--sizes", [224, 256]))
            foreach (int batch in options.Ints("--batches", [1, 4, 32]))
                foreach (var shape in model.ConvShapes(batch, size))
                    foreach (var type in types)
                        foreach (var layout in new[] { ConvLayout.ChannelsLast, ConvLayout.Contiguous })
                            foreach (bool backward in new[] { false, true })
                            {
                                var clock = Stopwatch.StartNew();
                                var check = ConvolutionCheck.Measure(shape, type, layout, backward);
                                if (!check.Passed) failures++;
                                Console.WriteLine($"{shape,-32} {type,-9} {layout,-13} {(backward ? "backward" : "forward"),-9} " +
                                                  $"{check.Error,9:G3} {check.Tolerance,9:G2} " +
                                                  $"{clock.Elapsed.TotalMilliseconds,7:F0}{(check.Passed ? "" : "  WRONG")}");
                            }
        Console.WriteLine($"{failures} wrong");
    }
}
