using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using Veracity.Inference;
using Veracity.Models;

namespace Veracity.Server;

/// <summary>
/// <c>veracity serve</c>: the HTTP API, the web page and the operational endpoints around one loaded model.
/// Composition only; the endpoints are in <see cref="ScoringEndpoints"/>, the batching in <see cref="BatchScorer"/>.
/// </summary>
public static class ServerApp
{
    /// <summary>
    /// Loads the model and builds the server. <paramref name="configure"/> runs last on the builder, so a caller (a
    /// test) can put the server on a test host or replace <see cref="BatchModel"/>.
    /// </summary>
    public static WebApplication Build(ServeOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        if (options.Problem is { } problem) throw new VeracityException(problem);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(ServerApp).Assembly.GetName().Name });
        builder.WebHost.UseUrls(options.Urls);
        // Start-up and shutdown lines, and warnings; not a line per request (/metrics counts them).
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            kestrel.Limits.MaxConcurrentConnections = options.MaxConnections;
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // Routing refuses a body that is not multipart before the endpoint runs (the endpoints declare what they
            // accept); say what to send instead of the bare status.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && context.ProblemDetails.Detail is null)
            {
                var problem = UploadProblem.NotMultipart();
                (context.ProblemDetails.Type, context.ProblemDetails.Title, context.ProblemDetails.Detail) =
                    (problem.Type, problem.Title, problem.Message);
                context.HttpContext.RequestServices.GetRequiredService<ServerMetrics>().RejectedUploads.WithLabels(problem.Kind).Inc();
            }
        });
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Veracity";
            document.Info.Description = "Deepfake face detection: scores, heatmaps and the model card. " +
                                        "With an API key, /api/* needs `Authorization: Bearer KEY`.";
            return Task.CompletedTask;
        }));
        if (options.RateLimitPerMinute > 0) builder.Services.AddRateLimiter(limiter => LimitPerClient(limiter, options));

        var metrics = new ServerMetrics();
        var watch = Stopwatch.StartNew();
        var detector = Detector.Load(options.Model, options.Engine);
        metrics.ModelLoadSeconds.Set(watch.Elapsed.TotalSeconds);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(_ => detector); // built by a factory, so the container disposes it at shutdown
        builder.Services.AddSingleton(ModelFor(detector, options));
        // Built by factories, so the container disposes them at shutdown.
        builder.Services.AddSingleton(_ => new PicturePreparer(detector, detector.FaceSettingsFor(options.Faces), options.MaxPixels));
        builder.Services.AddSingleton(new Admission(options));
        builder.Services.AddSingleton(services => new BatchScorer(services.GetRequiredService<BatchModel>(), options, metrics, failure =>
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Veracity.Server")
                .LogCritical(failure, "The scoring worker died; the server stops so that a supervisor can restart it");
            services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        }));
        builder.Services.AddHostedService<WarmUp>();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseHttpMetrics(http => http.SetMetricFactory(metrics.Factory));
        if (options.ForwardedFrom.Count > 0) app.UseForwardedHeaders(ForwardedFrom(options.ForwardedFrom));
        // The limiter before the key check, so that failed guesses at the key count against the guesser.
        if (options.RateLimitPerMinute > 0) app.UseRateLimiter();
        if (options.ApiKey is { } key) app.UseMiddleware<ApiKeyCheck>(key, options.ProtectMetrics);
        var page = new ManifestEmbeddedFileProvider(typeof(ServerApp).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = page });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = page });

        ScoringEndpoints.Map(app);
        app.MapOpenApi();
        app.MapGet("/healthz", (BatchScorer scorer) => scorer.Ready
                ? Results.Ok(new { Status = "ready" })
                : Results.Json(new { Status = scorer.Failure is null ? "warming up" : "failed" }, statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithSummary("Ready once the model is loaded and a warm-up batch has run (503 until then, and once the scoring worker has died).");
        app.MapMetrics("/metrics", metrics.Registry);
        return app;
    }

    /// <summary>
    /// The detector behind the batching queue. TorchSharp engines run only batch sizes their warm-up has run, so
    /// every batch shape has had its convolution check before traffic arrives: powers of two and the sizes halfway
    /// between (1, 2, 3, 4, 6, 8, 12, 16, 24, 32), so that a batch is cut by at most a third.
    /// </summary>
    static BatchModel ModelFor(Detector detector, ServeOptions options)
    {
        bool torch = detector.Engine is Engine.Torch or Engine.TorchBf16;
        var sizes = torch
            ? Enumerable.Range(0, 30).SelectMany(i => new[] { 1 << i, 3 << i >> 1 }).Where(s => s >= 1 && s < options.MaxBatch)
                .Append(options.MaxBatch).Order().ToList()
            : [1, options.MaxBatch];
        return new BatchModel(batch => detector.Score(batch, options.Tta), detector.Info.ImageSize, sizes.Distinct().ToList(), torch);
    }

    static ForwardedHeadersOptions ForwardedFrom(IReadOnlyList<string> proxies)
    {
        var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = 1 };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (string proxy in proxies) forwarded.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
        return forwarded;
    }

    static void LimitPerClient(RateLimiterOptions limiter, ServeOptions options)
    {
        int perMinute = options.RateLimitPerMinute;
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            ApiKeyCheck.Guards(context.Request.Path, options.ProtectMetrics)
                ? RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("open"));
        limiter.OnRejected = async (rejected, cancel) =>
        {
            if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry))
                rejected.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString();
            await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                    detail: $"at most {perMinute} API requests per minute from one client", type: "urn:veracity:problem:rate-limited")
                .ExecuteAsync(rejected.HttpContext);
        };
    }

    /// <summary>Runs the warm-up batches in the background once the server has started; /healthz says ready after.</summary>
    sealed class WarmUp(BatchScorer scorer) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(scorer.WarmUp, stoppingToken);
    }
}
