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

        [CommandOption("--fp16"), Description("Store the weights as float16 (half the file); ONNX Runtime still computes in float32.")]
        public bool Float16 { get; init; }

        [CommandOption("--int8"), Description("Quantise to int8 (QDQ: per-channel weights, activations calibrated on --calibration-*), " +
            "refused unless its AUC stays within --max-auc-change of float32's on the check set.")]
        public bool Int8 { get; init; }

        [CommandOption("--calibration-labels <FILE>")] public string? CalibrationLabels { get; init; }
        [CommandOption("--calibration-images <DIR>")] public string? CalibrationImages { get; init; }
        [CommandOption("--calibration-count <N>"), Description("Calibration pictures, spread over the label file.")]
        public int CalibrationCount { get; init; } = 300;

        [CommandOption("--check-labels <FILE>"), Description("Where the int8 model's AUC is checked (default: the calibration pictures).")]
        public string? CheckLabels { get; init; }
        [CommandOption("--check-images <DIR>")] public string? CheckImages { get; init; }
        [CommandOption("--max-auc-change <X>")] public double MaxAucChange { get; init; } = 0.005;

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Model) ? ValidationResult.Error("--model is required")
            : Int8 && Float16 ? ValidationResult.Error("--int8 and --fp16 exclude each other")
            : Int8 && (CalibrationLabels is null || CalibrationImages is null)
                ? ValidationResult.Error("--int8 needs --calibration-labels and --calibration-images")
            : (CheckLabels is null) != (CheckImages is null) ? ValidationResult.Error("--check-labels and --check-images go together")
            : CalibrationCount < 1 ? ValidationResult.Error("--calibration-count must be at least 1")
            : MaxAucChange < 0 ? ValidationResult.Error("--max-auc-change must be at least 0")
            : ValidationResult.Success();
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
        byte[] onnx;
        using (model)
            onnx = OnnxExport.ToBytes(info, model);
        if (settings.Float16) onnx = OnnxWeights.ToFloat16(onnx, settings.Out);
        if (settings.Int8)
            onnx = OnnxQuantisation.ToInt8(onnx, new QuantisationOptions(settings.CalibrationLabels!, settings.CalibrationImages!,
                settings.CalibrationCount, settings.CheckLabels, settings.CheckImages, settings.MaxAucChange), settings.Out);
        Veracity.AtomicFile.WriteAllBytes(settings.Out, onnx);
        string storage = OnnxWeights.Read(onnx).Storage;
        AnsiConsole.MarkupLineInterpolated(
            $"Wrote [bold]{Path.GetFullPath(settings.Out)}[/] ({info.Backbone}, {info.ImageSize}px input, batch size free, {storage} weights, {onnx.Length / 1e6:F1} MB)");
        if (OnnxWeights.Read(onnx).Check is { } check)
            AnsiConsole.MarkupLineInterpolated(
                $"AUC on {check.Pictures} pictures of {check.Labels}: float32 {check.Float32Auc:F4}, int8 {check.Int8Auc:F4}");
        return 0;
    }
}
