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
    public sealed class Settings : ScoringSettings
    {
        [CommandOption("--model <CKPT|ONNX>"), Description("A checkpoint written by train (best.ckpt) or an exported .onnx model; " +
            "without it, the built-in detector.")]
        public string? Model { get; init; }

        [CommandOption("--urls <URLS>"), Description("Where to listen; loopback by default. Use http://0.0.0.0:PORT to listen on every interface.")]
        public string Urls { get; init; } = "http://127.0.0.1:5080";

        [CommandOption("--max-batch <B>"), Description("Most images scored in one pass of the network.")]
        public int MaxBatch { get; init; } = 32;

        [CommandOption("--max-wait-ms <T>"), Description("How long the first queued image waits for others to join its batch.")]
        public int MaxWaitMs { get; init; } = 10;

        [CommandOption("--queue <N>"), Description("Images that may wait; beyond that requests get 503 with Retry-After, and a request " +
            "with more images or faces than this gets 413. At least --max-files.")]
        public int Queue { get; init; } = 256;

        [CommandOption("--max-requests <N>"), Description("Requests admitted at once, before their bodies are read; more get 503 with Retry-After.")]
        public int MaxRequests { get; init; } = 16;

        [CommandOption("--max-mb-in-flight <MB>"), Description("Request bodies admitted at once, by declared length; at least " +
            "--max-files × --max-file-mb.")]
        public double MaxMbInFlight { get; init; } = 512;

        [CommandOption("--api-key <KEY>"), Description("Require 'Authorization: Bearer KEY' on /api/* (default: $VERACITY_API_KEY, else none).")]
        public string? ApiKey { get; init; }

        [CommandOption("--protect-metrics"), Description("With an API key, require it on /metrics and /openapi too.")]
        public bool ProtectMetrics { get; init; }

        [CommandOption("--forwarded-from <PROXY>"), Description("A reverse proxy's IP address whose X-Forwarded-For names the client " +
            "(for the rate limit); may be given several times. Default: the peer address is the client.")]
        public string[] ForwardedFrom { get; init; } = [];

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

        public override ValidationResult Validate() =>
            base.Validate() is { Successful: false } scoring ? scoring
            : MaxWaitMs < 0 ? ValidationResult.Error("--max-wait-ms cannot be negative")
            : Options.Problem is { } problem ? ValidationResult.Error(problem)
            : ValidationResult.Success();

        /// <summary>The built-in detector when no --model is given.</summary>
        Inference.BuiltInModel? BuiltIn => Model is null ? _builtIn ??= Inference.BuiltInModel.Read() : null;
        Inference.BuiltInModel? _builtIn;

        public ServeOptions Options => new()
        {
            Model = Model ?? BuiltIn!.Verified(),
            BuiltIn = BuiltIn,
            Engine = Engine,
            Urls = Urls,
            MaxBatch = MaxBatch,
            MaxWait = TimeSpan.FromMilliseconds(Math.Max(0, MaxWaitMs)),
            QueueCapacity = Queue,
            MaxConcurrentRequests = MaxRequests,
            MaxBytesInFlight = (long)(MaxMbInFlight * 1024 * 1024),
            ApiKey = string.IsNullOrEmpty(ApiKey)
                ? Environment.GetEnvironmentVariable("VERACITY_API_KEY") is { Length: > 0 } env ? env : null
                : ApiKey,
            ProtectMetrics = ProtectMetrics,
            ForwardedFrom = ForwardedFrom,
            MaxFileBytes = (long)(MaxFileMb * 1024 * 1024),
            MaxFiles = MaxFiles,
            MaxPixels = (long)(MaxMegapixels * 1_000_000),
            RequestTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
            RateLimitPerMinute = RateLimit,
            Tta = Tta,
            Faces = UseFaces,
        };
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = settings.Options;
        await using var app = ServerApp.Build(options);
        var detector = app.Services.GetRequiredService<Inference.Detector>();
        string on = app.Services.GetRequiredService<Inference.PicturePreparer>().OnFaces ? "faces" : "whole pictures";
        string model = $"{detector.Info.Backbone}, {detector.Info.ImageSize}px, engine {detector.Engine}, on {on}";
        AnsiConsole.MarkupLineInterpolated(
            $"Serving [bold]{options.Model}[/] ({model}) at [bold]{options.Urls}[/]");
        AnsiConsole.MarkupLine("  page /   API /api/v1/score, /api/v1/explain, /api/v1/model   docs /api.html, /openapi/v1.json   " +
            "/healthz   /metrics");
        string key = options.ApiKey is null ? "no API key" : "API key required on /api/*";
        string stopping = "Ctrl+C or SIGTERM stops after in-flight requests";
        AnsiConsole.MarkupLineInterpolated(
            $"  {key}; batches up to {options.MaxBatch} images, queue {options.QueueCapacity}; {stopping}");
        long bound = options.WorkingMemoryBound(detector.Info.ImageSize) / (1024 * 1024);
        AnsiConsole.MarkupLineInterpolated(
            $"  admits {options.MaxConcurrentRequests} requests at once; uploads, decoding and queue bounded to {bound:N0} MB besides the model");
        await app.StartAsync(cancellation);
        await app.WaitForShutdownAsync(cancellation); // SIGTERM or Ctrl+C: stop accepting, finish in-flight requests
        Ui.ReportConvolutionFallbacks();
        // A dead scoring worker stops the server; a non-zero code tells a supervisor to restart it.
        if (app.Services.GetRequiredService<BatchScorer>().Failure is { } failure)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the scoring worker died: {failure.Message}");
            return 70;
        }
        return 0;
    }
}
