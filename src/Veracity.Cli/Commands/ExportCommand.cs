using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Inference;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Cli.Commands;

[Description("Writes a checkpoint as an ONNX model (BatchNorm folded, symbolic batch size) that evaluate, predict and score accept, " +
             "as a Triton Inference Server model repository, or as a compact checkpoint.")]
public sealed class ExportCommand : Command<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <CKPT>")] public string Model { get; init; } = "";
        [CommandOption("--out <FILE>"), Description("The ONNX file (default model.onnx, unless --triton is given), or with --compact the checkpoint.")]
        public string? Out { get; init; }
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

        [CommandOption("--triton <DIR>"), Description("Write a Triton model repository: DIR/NAME/config.pbtxt (onnxruntime backend, " +
            "dynamic batching, the client's preprocessing) and DIR/NAME/1/model.onnx.")]
        public string? Triton { get; init; }
        [CommandOption("--triton-name <NAME>"), Description("The model's name in the Triton repository.")]
        public string TritonName { get; init; } = "veracity";
        [CommandOption("--max-batch <B>"), Description("Triton's max_batch_size: most pictures it runs in one pass, as serve's --max-batch.")]
        public int MaxBatch { get; init; } = 32;

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Model) ? ValidationResult.Error("--model is required")
            : Compact && (Out is null || Float16 || Int8 || Triton is not null)
                ? ValidationResult.Error("--compact writes one checkpoint: give --out FILE.ckpt, without --fp16, --int8 or --triton")
            : Int8 && Float16 ? ValidationResult.Error("--int8 and --fp16 exclude each other")
            : Int8 && (CalibrationLabels is null || CalibrationImages is null)
                ? ValidationResult.Error("--int8 needs --calibration-labels and --calibration-images")
            : (CheckLabels is null) != (CheckImages is null) ? ValidationResult.Error("--check-labels and --check-images go together")
            : CalibrationCount < 1 ? ValidationResult.Error("--calibration-count must be at least 1")
            : MaxAucChange < 0 ? ValidationResult.Error("--max-auc-change must be at least 0")
            : MaxBatch < 1 ? ValidationResult.Error("--max-batch must be at least 1")
            : TritonName.Length == 0 || TritonName.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')) || TritonName.StartsWith('.')
                ? ValidationResult.Error($"--triton-name must be letters, digits, '_', '-' or '.' (it names a folder), not '{TritonName}'")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Compact)
        {
            Checkpoint.CompactCopy(settings.Model, settings.Out!);
            AnsiConsole.MarkupLineInterpolated(
                $"Wrote [bold]{Path.GetFullPath(settings.Out!)}[/] ({new FileInfo(settings.Out!).Length / 1048576.0:F1} MB, int8 weights with a scale per channel)");
            return 0;
        }
        var (info, model) = Checkpoint.Load(settings.Model);
        byte[] onnx;
        using (model)
            onnx = OnnxExport.ToBytes(info, model);
        string file = settings.Out ?? "model.onnx";
        if (settings.Float16) onnx = OnnxWeights.ToFloat16(onnx, file);
        if (settings.Int8)
            onnx = OnnxQuantisation.ToInt8(onnx, new QuantisationOptions(settings.CalibrationLabels!, settings.CalibrationImages!,
                settings.CalibrationCount, settings.CheckLabels, settings.CheckImages, settings.MaxAucChange), file);
        var weights = OnnxWeights.Read(onnx);
        string shape = $"{info.Backbone}, {info.ImageSize}px input, batch size free, {weights.Storage} weights, {onnx.Length / 1e6:F1} MB";
        if (settings.Out is not null || settings.Triton is null)
        {
            Veracity.AtomicFile.WriteAllBytes(file, onnx);
            AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{Path.GetFullPath(file)}[/] ({shape})");
        }
        if (weights.Check is { } check)
            AnsiConsole.MarkupLineInterpolated(
                $"AUC on {check.Pictures} pictures of {check.Labels}: float32 {check.Float32Auc:F4}, int8 {check.Int8Auc:F4}");
        if (settings.Triton is not null)
        {
            string folder = TritonRepository.Write(settings.Triton, settings.TritonName, onnx, info, settings.Model, settings.MaxBatch);
            AnsiConsole.MarkupLineInterpolated(
                $"Wrote the Triton model [bold]{Path.GetFullPath(folder)}[/]: {TritonRepository.ConfigFile} and {TritonRepository.Version}/{TritonRepository.ModelFile} ({shape}, up to {settings.MaxBatch} a batch)");
        }
        return 0;
    }
}
