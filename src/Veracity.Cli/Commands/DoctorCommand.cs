using System.ComponentModel;
using System.Reflection;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Cli.Commands;

[Description("What to paste into a bug report: CPU, library versions, threads, what auto picks here, and a numeric self-check against float64.")]
public sealed class DoctorCommand : Command
{
    /// <summary>The image size and batch sizes whose convolutions are checked: inference and training shapes of the default recipe.</summary>
    const int Size = 224;
    static readonly int[] Batches = [1, 4, 32];

    public override int Execute(CommandContext context, CancellationToken cancellation)
    {
        var cpu = CpuInfo.Current;
        Row("CPU", cpu.ToString());
        Row("ISA flags", string.Join(' ', CpuInfo.RelevantFlags.Where(cpu.Flags.Contains)));
        string? cap = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA");
        Row("oneDNN cap", cap ?? "none (ONEDNN_MAX_CPU_ISA unset)");
        Row("versions", $".NET {Environment.Version}; libtorch {Metadata(typeof(ResNet).Assembly, "libtorch")}; " +
            $"TorchSharp {Informational(typeof(TorchSharp.torch).Assembly)}; " +
            $"ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}; " +
            $"SkiaSharp {Informational(typeof(SkiaSharp.SKImage).Assembly)}");
        Row("threads", $"libtorch {get_num_threads()}, logical cores {Environment.ProcessorCount}");
        var spec = Backbones.Get(Backbones.Default);
        Row("auto picks", $"training precision {spec.Resolve(Precision.Auto).ToString().ToLowerInvariant()}; " +
            $"inference engine {Inference.Detector.Fastest(spec).ToString().ToLowerInvariant()} for {spec.Name}");

        var network = SelfCheck.Network(batch: 4, Size);
        var convolutions = Ui.Counted("checking convolutions against float64", (start, done) =>
        {
            using var model = SelfCheck.Imported();
            var shapes = Batches.SelectMany(b => model.ConvShapes(b, Size)).ToList();
            var plan = shapes.SelectMany(s => new[] { (s, ScalarType.Float32, false), (s, ScalarType.Float32, true),
                (s, ScalarType.BFloat16, false), (s, ScalarType.BFloat16, true) }).ToList();
            start(plan.Count);
            return plan.Select(p =>
            {
                var route = ConvolutionCheck.RouteFor(p.Item1, p.Item2, p.Item3);
                done();
                return (Shape: p.Item1, Type: p.Item2, Backward: p.Item3, Route: route);
            }).ToList();
        });

        var table = new Table().AddColumns("check", "measured", "allowed", "result");
        foreach (var check in network)
            table.AddRow($"resnet18 features, {check.Type}, batch {check.Batch}, {check.Size} px", $"{check.Error:G3}", $"{check.Tolerance:G2}",
                check.Passed ? "[green]ok[/]" : "[red]WRONG[/]");
        var failures = ConvolutionCheck.Failures;
        var rerouted = convolutions.Where(c => c.Route.Layout != ConvLayout.ChannelsLast || c.Route.Type != c.Type).ToList();
        table.AddRow($"{convolutions.Count} convolution shapes (batch {string.Join("/", Batches)}, {Size} px, forward and backward)",
            $"{failures.Count} fast paths wrong", "0", failures.Count == 0 ? "[green]ok[/]" : "[yellow]worked around[/]");
        AnsiConsole.Write(table);
        foreach (var failure in failures)
            AnsiConsole.MarkupLineInterpolated($"[yellow]wrong here:[/] {failure}");
        foreach (var c in rerouted)
            AnsiConsole.MarkupLineInterpolated(
                $"  so {c.Shape} {c.Type} {(c.Backward ? "backward" : "forward")} runs {c.Route.Layout} in {c.Route.Type}");

        bool passed = network.All(c => c.Passed);
        AnsiConsole.MarkupLine(passed
            ? "[green]self-check passed[/]"
            : "[red]self-check FAILED: this CPU computes wrong numbers on a path Veracity uses; please report this output[/]");
        return passed ? 0 : 1;
    }

    static void Row(string label, string value) => AnsiConsole.MarkupLine($"[bold]{label,-12}[/] {Markup.Escape(value)}");

    static string Metadata(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value ?? "unknown";

    static string Informational(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
}
