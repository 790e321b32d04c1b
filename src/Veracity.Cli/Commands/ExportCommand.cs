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

        [CommandOption("--fp16"), Description("Store the weights as float16 (half the file); ONNX Runtime still computes in float32.")]
        public bool Float16 { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Model) ? ValidationResult.Error("--model is required") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var (info, model) = Checkpoint.Load(settings.Model);
        byte[] onnx;
        using (model)
            onnx = OnnxExport.ToBytes(info, model);
        if (settings.Float16) onnx = OnnxWeights.ToFloat16(onnx, settings.Out);
        Veracity.AtomicFile.WriteAllBytes(settings.Out, onnx);
        string storage = OnnxWeights.Read(onnx).Storage;
        AnsiConsole.MarkupLineInterpolated(
            $"Wrote [bold]{Path.GetFullPath(settings.Out)}[/] ({info.Backbone}, {info.ImageSize}px input, batch size free, {storage} weights, {onnx.Length / 1e6:F1} MB)");
        return 0;
    }
}
