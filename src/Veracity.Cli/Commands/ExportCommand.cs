using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Inference;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Cli.Commands;

[Description("Writes a checkpoint as an ONNX model (BatchNorm folded, symbolic batch size) that evaluate, predict and score accept.")]
public sealed class ExportCommand : Command<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <CKPT>")] public string Model { get; init; } = "";
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "model.onnx";
        [CommandOption("--compact"), Description("Write a compact checkpoint (.ckpt: int8 weights with a scale per channel, no optimiser " +
            "state) instead of ONNX: for a model that ships, as the built-in detector does (64 MB of resnet18 weights become 16 MB).")]
        public bool Compact { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Model) ? ValidationResult.Error("--model is required") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Compact)
        {
            Checkpoint.CompactCopy(settings.Model, settings.Out);
            AnsiConsole.MarkupLineInterpolated(
                $"Wrote [bold]{Path.GetFullPath(settings.Out)}[/] ({new FileInfo(settings.Out).Length / 1048576.0:F1} MB, int8 weights with a scale per channel)");
            return 0;
        }
        var (info, model) = Checkpoint.Load(settings.Model);
        using (model)
            Veracity.AtomicFile.WriteAllBytes(settings.Out, OnnxExport.ToBytes(info, model));
        AnsiConsole.MarkupLineInterpolated(
            $"Wrote [bold]{Path.GetFullPath(settings.Out)}[/] ({info.Backbone}, {info.ImageSize}px input, batch size free)");
        return 0;
    }
}
