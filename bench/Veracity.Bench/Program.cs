// Benchmarks that print figures (they are not tests):
//   dotnet run --project bench/Veracity.Bench -c Release -- decode [--count N] [--size S] [--target T] [--seconds K]
//   dotnet run --project bench/Veracity.Bench -c Release -- model [--sizes 128,224,256] [--batch B] [--seconds K]
//       [--modes train,inference] [--precision float32|bfloat16|auto]
//   dotnet run --project bench/Veracity.Bench -c Release -- pipeline --labels F --images D [--sizes 224,256] [--preset seed]
//       [--workers W] [--limit N]
//   dotnet run --project bench/Veracity.Bench -c Release -- conv [--sizes 224,256] [--batches 1,4,32]   (convolutions against float64)
//   dotnet run --project bench/Veracity.Bench -c Release -- torch-weights --out DIR   (starting weights for the Python peer)
//   dotnet run --project bench/Veracity.Bench -c Release -- load --model CKPT --images DIR [--clients 1,4,16] [--seconds 30]
//       [--bad-percent 10] [--engine auto] [--max-batch 32] [--max-wait-ms 10]   (veracity serve under load, on loopback)
//   dotnet run --project bench/Veracity.Bench -c Release -- abuse --model CKPT --images DIR [--clients 16] [--seconds 60]
//       (serve under a hostile mix: large pictures, many-file requests, bad uploads, disconnects)
//   dotnet run --project bench/Veracity.Bench -c Release -- faces [--count 100] [--seconds 10]   (face detection, one core)
//   dotnet run --project bench/Veracity.Bench -c Release -- adapt-plot --tsv F --out PNG   (bench/adapt-curves.sh's picture)
using Veracity;
using Veracity.Bench;

NativeHeap.LimitFragmentation();
NativeHeap.BackTensorsWithHugePages();
string mode = args.FirstOrDefault() ?? "decode";
var options = new BenchOptions(args.Skip(1).ToArray());
Console.WriteLine($"CPU: {CpuInfo.Current}, {Environment.ProcessorCount} logical cores; .NET {Environment.Version}");
switch (mode)
{
    case "decode": DecodeBench.Run(options); break;
    case "model": ModelBench.Run(options); break;
    case "pipeline": PipelineBench.Run(options); break;
    case "conv": ConvBench.Run(options); break;
    case "torch-weights": TorchWeights.Run(options); break;
    case "load": LoadBench.Run(options); break;
    case "abuse": AbuseBench.Run(options); break;
    case "faces": FaceBench.Run(options); break;
    case "adapt-plot": AdaptPlot.Run(options); break;
    default:
        Console.Error.WriteLine("usage: Veracity.Bench decode|model|pipeline|conv|torch-weights|load|abuse|faces|adapt-plot [options]");
        return 2;
}
return 0;
