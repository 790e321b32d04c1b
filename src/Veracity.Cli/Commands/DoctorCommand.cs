using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Cli.Commands;

[Description("What to paste into a bug report: CPU, library versions, threads, what auto picks here (engines timed), and a numeric self-check against float64.")]
public sealed class DoctorCommand : Command<DoctorCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--fresh"), Description("Forget this machine's cached verdicts (convolution routes, engine timings) and measure them again.")]
        public bool Fresh { get; init; }
    }

    /// <summary>The image size and batch sizes whose convolutions are checked: inference and training shapes of the default recipe.</summary>
    const int Size = 224;
    static readonly int[] Batches = [1, 4, 32];

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var cache = MachineCache.Current;
        if (settings.Fresh && cache.FilePath is { } stale) File.Delete(stale);
        var cpu = CpuInfo.Current;
        Row("CPU", cpu.ToString());
        Row("ISA flags", string.Join(' ', CpuInfo.RelevantFlags.Where(cpu.Flags.Contains)));
        string? cap = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA");
        Row("oneDNN cap", cap ?? "none (ONEDNN_MAX_CPU_ISA unset)");
        Row("versions", $".NET {Environment.Version}; libtorch {MachineCache.Library.Libtorch}; " +
            $"TorchSharp {MachineCache.Library.TorchSharp}; ONNX Runtime {MachineCache.Library.OnnxRuntime}; " +
            $"SkiaSharp {MachineCache.Library.Informational(typeof(SkiaSharp.SKImage).Assembly)}");
        Row("threads", $"libtorch {get_num_threads()}, logical cores {Environment.ProcessorCount}");
        Row("cache", cache.FilePath is { } file
            ? $"{file} ({(File.Exists(file) ? "verdicts of earlier runs" : "empty")}; --fresh measures again; VERACITY_CACHE=off keeps none)"
            : "off (VERACITY_CACHE=off): every process checks and times afresh");
        var spec = Backbones.Get(Backbones.Default);
        Row("auto picks", $"training precision {spec.Resolve(Precision.Auto).ToString().ToLowerInvariant()}; inference engine: " +
            "the fastest correct one below, per network");
        AnsiConsole.Status().Start("timing the inference engines on the built-in model's network", _ =>
        {
            using var builtIn = Inference.Detector.Load(Inference.BuiltInModel.Read().Verified());
        });
        var engines = new Table().AddColumns("network", "engine", "images/s", "largest difference from float32", "allowed", "auto");
        foreach (var timed in Inference.EngineChoice.Known(cache))
        {
            var fastest = Inference.EngineChoice.Fastest(timed, windows: false);
            foreach (var t in timed.Engines)
                engines.AddRow(Markup.Escape(timed.Network), t.Engine.ToString().ToLowerInvariant(), $"{t.ImagesPerSecond:F1}",
                    $"{t.LargestDifference:G3}", $"{t.Allowed:G2}", t.Engine == fastest ? "[green]picked[/]" : t.Correct ? "" : "[red]wrong here[/]");
        }
        AnsiConsole.Write(engines);

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
}
