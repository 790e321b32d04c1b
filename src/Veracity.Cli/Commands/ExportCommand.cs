using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Inference;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Cli.Commands;

[Description("Writes a checkpoint as an ONNX model (BatchNorm folded, symbolic batch size) that evaluate, predict and score accept, " +
             "or as a Triton Inference Server model repository.")]
public sealed class ExportCommand : Command<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <CKPT>")] public string Model { get; init; } = "";
        [CommandOption("--out <FILE>"), Description("The ONNX file (default model.onnx, unless --triton is given).")]
        public string? Out { get; init; }
        [CommandOption("--triton <DIR>"), Description("Write a Triton model repository: DIR/NAME/config.pbtxt (onnxruntime backend, " +
            "dynamic batching, the client's preprocessing) and DIR/NAME/1/model.onnx.")]
        public string? Triton { get; init; }
        [CommandOption("--triton-name <NAME>"), Description("The model's name in the Triton repository.")]
        public string TritonName { get; init; } = "veracity";
        [CommandOption("--max-batch <B>"), Description("Triton's max_batch_size: most pictures it runs in one pass, as serve's --max-batch.")]
        public int MaxBatch { get; init; } = 32;

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Model) ? ValidationResult.Error("--model is required")
            : MaxBatch < 1 ? ValidationResult.Error("--max-batch must be at least 1")
            : TritonName.Length == 0 || TritonName.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')) || TritonName.StartsWith('.')
                ? ValidationResult.Error($"--triton-name must be letters, digits, '_', '-' or '.' (it names a folder), not '{TritonName}'")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var (info, model) = Checkpoint.Load(settings.Model);
        byte[] onnx;
        using (model)
            onnx = OnnxExport.ToBytes(info, model);
        string shape = $"{info.Backbone}, {info.ImageSize}px input, batch size free";
        if (settings.Out is not null || settings.Triton is null)
        {
            string file = settings.Out ?? "model.onnx";
            Veracity.AtomicFile.WriteAllBytes(file, onnx);
            AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{Path.GetFullPath(file)}[/] ({shape})");
        }
        if (settings.Triton is not null)
        {
            string folder = TritonRepository.Write(settings.Triton, settings.TritonName, onnx, info, settings.Model, settings.MaxBatch);
            AnsiConsole.MarkupLineInterpolated(
                $"Wrote the Triton model [bold]{Path.GetFullPath(folder)}[/]: {TritonRepository.ConfigFile} and {TritonRepository.Version}/{TritonRepository.ModelFile} ({shape}, up to {settings.MaxBatch} a batch)");
        }
        return 0;
    }
}
