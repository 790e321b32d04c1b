using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Server;

namespace Veracity.Cli.Commands;

[Description("Serves a model over HTTP: a web page at /, the API under /api/v1, /healthz, /metrics and the API description.")]
public sealed class ServeCommand : AsyncCommand<ServeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <CKPT|ONNX>"), Description("A checkpoint written by train (best.ckpt) or an exported .onnx model.")]
        public string Model { get; init; } = "";

        [CommandOption("--engine <NAME>"), Description("auto, torch, onnx or torchbf16 (as for predict).")]
        public string EngineName { get; init; } = "auto";

        [CommandOption("--urls <URLS>"), Description("Where to listen; loopback by default. Use http://0.0.0.0:PORT to listen on every interface.")]
        public string Urls { get; init; } = "http://127.0.0.1:5080";

        [CommandOption("--max-batch <B>"), Description("Most images scored in one pass of the network.")]
        public int MaxBatch { get; init; } = 32;

        [CommandOption("--max-wait-ms <T>"), Description("How long the first queued image waits for others to join its batch.")]
        public int MaxWaitMs { get; init; } = 10;

        [CommandOption("--queue <N>"), Description("Images that may wait; beyond that requests get 503 with Retry-After.")]
        public int Queue { get; init; } = 256;

        [CommandOption("--api-key <KEY>"), Description("Require 'Authorization: Bearer KEY' on /api/* (default: $VERACITY_API_KEY, else none).")]
        public string? ApiKey { get; init; }

        [CommandOption("--max-file-mb <MB>"), Description("Largest upload per file.")]
        public double MaxFileMb { get; init; } = 20;

        [CommandOption("--max-files <N>"), Description("Most files per request.")]
        public int MaxFiles { get; init; } = 16;

        [CommandOption("--max-megapixels <MP>"), Description("Largest image, checked from its header before decoding.")]
        public double MaxMegapixels { get; init; } = 40;

        [CommandOption("--timeout-s <S>"), Description("Per-request timeout.")]
        public double TimeoutSeconds { get; init; } = 30;

        [CommandOption("--rate-limit <N>"), Description("API requests per client address per minute (0 = no limit).")]
        public int RateLimit { get; init; }

        [CommandOption("--tta <N>"), Description("Test-time augmentation views per image (default: the model's own, 4 for the " +
            "generalise preset, else 1).")]
        public int? Tta { get; init; }

        [CommandOption("--faces"), Description("Score each face (the image's verdict is its most suspicious face's); " +
            "a checkpoint trained on faces does this by itself.")]
        public bool Faces { get; init; }

        [CommandOption("--no-faces"), Description("Score whole pictures even with a checkpoint trained on faces.")]
        public bool NoFaces { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Model) ? ValidationResult.Error("--model is required")
            : !Enum.TryParse<Inference.Engine>(EngineName, ignoreCase: true, out _)
                ? ValidationResult.Error("--engine must be auto, torch, onnx or torchbf16")
            : MaxBatch < 1 ? ValidationResult.Error("--max-batch must be at least 1")
            : MaxWaitMs < 0 ? ValidationResult.Error("--max-wait-ms cannot be negative")
            : Queue < MaxBatch ? ValidationResult.Error("--queue must hold at least one batch (--max-batch)")
            : MaxFileMb <= 0 || MaxFiles < 1 || MaxMegapixels <= 0
                ? ValidationResult.Error("--max-file-mb, --max-files and --max-megapixels must be positive")
            : TimeoutSeconds <= 0 ? ValidationResult.Error("--timeout-s must be positive")
            : RateLimit < 0 ? ValidationResult.Error("--rate-limit cannot be negative")
            : Tta < 1 ? ValidationResult.Error("--tta must be at least 1")
            : Faces && NoFaces ? ValidationResult.Error("--faces and --no-faces contradict each other")
            : ValidationResult.Success();

        public ServeOptions Options => new()
        {
            Model = Model,
            Engine = Enum.Parse<Inference.Engine>(EngineName, ignoreCase: true),
            Urls = Urls,
            MaxBatch = MaxBatch,
            MaxWait = TimeSpan.FromMilliseconds(MaxWaitMs),
            QueueCapacity = Queue,
            ApiKey = string.IsNullOrEmpty(ApiKey)
                ? Environment.GetEnvironmentVariable("VERACITY_API_KEY") is { Length: > 0 } env ? env : null
                : ApiKey,
            MaxFileBytes = (long)(MaxFileMb * 1024 * 1024),
            MaxFiles = MaxFiles,
            MaxPixels = (long)(MaxMegapixels * 1_000_000),
            RequestTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
            RateLimitPerMinute = RateLimit,
            Tta = Tta,
            Faces = Faces ? true : NoFaces ? false : null,
        };
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = settings.Options;
        await using var app = ServerApp.Build(options);
        var detector = app.Services.GetRequiredService<Inference.Detector>();
        string on = app.Services.GetRequiredService<ServerApp.ServedFaces>().Cropper is null ? "whole pictures" : "faces";
        string model = $"{detector.Info.Backbone}, {detector.Info.ImageSize}px, engine {detector.Engine}, on {on}";
        AnsiConsole.MarkupLineInterpolated(
            $"Serving [bold]{options.Model}[/] ({model}) at [bold]{options.Urls}[/]");
        AnsiConsole.MarkupLine("  page /   API /api/v1/score, /api/v1/explain, /api/v1/model   docs /api.html, /openapi/v1.json   " +
            "/healthz   /metrics");
        string key = options.ApiKey is null ? "no API key" : "API key required on /api/*";
        string stopping = "Ctrl+C or SIGTERM stops after in-flight requests";
        AnsiConsole.MarkupLineInterpolated(
            $"  {key}; batches up to {options.MaxBatch} images, queue {options.QueueCapacity}; {stopping}");
        await app.StartAsync(cancellation);
        await app.WaitForShutdownAsync(cancellation); // SIGTERM or Ctrl+C: stop accepting, finish in-flight requests
        Ui.ReportConvolutionFallbacks();
        return 0;
    }
}
