using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Veracity.Imaging;
using Veracity.Inference;
using static TorchSharp.torch;

namespace Veracity.Server;

/// <summary>
/// The API: <c>POST /api/v1/score</c> (micro-batched), <c>POST /api/v1/explain</c> (a heatmap) and
/// <c>GET /api/v1/model</c>. Every refusal is an RFC 9457 problem; a request that outlives its timeout is
/// answered 503, and one whose client has gone is dropped from the queue.
/// </summary>
public static class ScoringEndpoints
{
    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api/v1");
        api.MapPost("/score", Score)
            .WithSummary("Deepfake probability and verdict for one or more images")
            .WithDescription("multipart/form-data with one or more files in the field 'image'; optional 'threshold' (0–1, form field " +
                             "or query) overrides the model's validation equal-error-rate threshold. One result per file, in order.")
            .Accepts<IFormFileCollection>("multipart/form-data")
            .Produces<ScoreResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType).ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/explain", Explain)
            .WithSummary("Heatmap of the regions that drove the score, for one image")
            .WithDescription("format=png (default): the heatmap laid over the image, at the image's size. format=json: the score, " +
                             "the raw class activation map (rows over the network's input, positive = towards deepfake) and the overlay " +
                             "as base64 PNG.")
            .Accepts<IFormFile>("multipart/form-data")
            .Produces<ExplainResponse>(contentType: "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status501NotImplemented);
        api.MapGet("/model", (Detector detector) => ModelCard.Of(detector))
            .WithSummary("Backbone, input size, normalisation, training summary, validation metrics and threshold");
    }

    static async Task<IResult> Score(HttpContext context, ServeOptions options, Detector detector, BatchScorer scorer, ServerMetrics metrics)
    {
        var watch = Stopwatch.StartNew();
        return await Guarded(context, options, metrics, async cancel =>
        {
            var uploads = await Uploads.ReadAsync(context.Request, options, options.MaxFiles, cancel);
            double threshold = ThresholdOf(context.Request, detector);
            var decoder = new ImageDecoder(options.MaxPixels);
            var prepared = uploads.Select(upload => Prepare(decoder, detector, upload)).ToList();
            var pending = scorer.TryEnqueue(prepared.Select(p => p.Chw).ToList(), cancel);
            if (pending is null) return Busy(context, $"the queue holds {scorer.Queued} of {scorer.Capacity} images; retry shortly");
            float[] scores = await Task.WhenAll(pending).WaitAsync(cancel);
            double elapsed = watch.Elapsed.TotalMilliseconds;
            return Results.Json(new ScoreResponse(prepared.Select((p, i) => new ScoreResult(p.Name, scores[i],
                ScoreResult.VerdictOf(scores[i], threshold), threshold, p.Header.Width, p.Header.Height, elapsed)).ToList()));
        });
    }

    static async Task<IResult> Explain(HttpContext context, string? format, ServeOptions options, Detector detector, BatchScorer scorer,
        ServerMetrics metrics)
    {
        var watch = Stopwatch.StartNew();
        return await Guarded(context, options, metrics, async cancel =>
        {
            bool json = (format ?? "png").ToLowerInvariant() switch
            {
                "png" => false,
                "json" => true,
                _ => throw new UploadProblem("bad-format", 400, "Unknown format", $"format must be png or json, not '{format}'"),
            };
            if (!detector.CanExplain)
                return Results.Problem(statusCode: StatusCodes.Status501NotImplemented, title: "No heatmaps for this model",
                    detail: $"heatmaps need a ResNet checkpoint or an ONNX model exported with its evidence output ({detector.Info.Backbone}, {detector.Engine})",
                    type: "urn:veracity:problem:no-heatmaps");
            var uploads = await Uploads.ReadAsync(context.Request, options, maxFiles: 1, cancel);
            double threshold = ThresholdOf(context.Request, detector);
            var decoder = new ImageDecoder(options.MaxPixels);
            var input = Prepare(decoder, detector, uploads[0]);
            var picture = Uploads.Decode(decoder, uploads[0]);
            var explanation = await Task.Run(() => scorer.Exclusive(() =>
            {
                using var image = tensor(input.Chw, [1, 3, detector.Info.ImageSize, detector.Info.ImageSize]);
                return detector.Explain(image);
            }), cancel);
            byte[] png = Heatmap.OverlayPng(picture, explanation.Evidence, explanation.Width, explanation.Height);
            string verdict = ScoreResult.VerdictOf(explanation.FakeProbability, threshold);
            if (!json)
            {
                context.Response.Headers["X-Fake-Probability"] = explanation.FakeProbability.ToString("R", CultureInfo.InvariantCulture);
                context.Response.Headers["X-Verdict"] = verdict;
                return Results.File(png, "image/png");
            }
            return Results.Json(new ExplainResponse(input.Name, explanation.FakeProbability, verdict, threshold, input.Header.Width,
                input.Header.Height, watch.Elapsed.TotalMilliseconds, EvidenceMap.Of(explanation), Convert.ToBase64String(png)));
        });
    }

    /// <summary>
    /// Runs a handler under the request's timeout, answering refused uploads as problems, a timeout as 503, and a
    /// client that has gone with nothing (its queued images are dropped by the scorer).
    /// </summary>
    static async Task<IResult> Guarded(HttpContext context, ServeOptions options, ServerMetrics metrics, Func<CancellationToken, Task<IResult>> handle)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            return await handle(timeout.Token);
        }
        catch (UploadProblem problem)
        {
            metrics.RejectedUploads.WithLabels(problem.Kind).Inc();
            return Results.Problem(statusCode: problem.Status, title: problem.Title, detail: problem.Message, type: problem.Type);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty;
        }
        catch (OperationCanceledException)
        {
            return Busy(context, $"not scored within the request timeout of {options.RequestTimeout.TotalSeconds:0} s");
        }
    }

    static IResult Busy(HttpContext context, string detail)
    {
        context.Response.Headers.RetryAfter = "1";
        return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Server busy", detail: detail,
            type: "urn:veracity:problem:busy");
    }

    sealed record PreparedImage(string Name, ImageHeader Header, float[] Chw);

    /// <summary>Header first (its pixel limit is checked before any pixel is decoded), then the network's input.</summary>
    static PreparedImage Prepare(ImageDecoder decoder, Detector detector, Upload upload)
    {
        ImageHeader header;
        try
        {
            header = decoder.ReadHeader(upload.Bytes, upload.Name);
        }
        catch (ImageDecodeException e)
        {
            throw UploadProblem.From(e);
        }
        var transform = detector.Transform;
        var image = Uploads.Decode(decoder, upload, (transform.Width, transform.Height));
        var chw = new float[transform.FloatCount];
        transform.Normalize.WriteChw(image, chw);
        return new PreparedImage(upload.Name, header, chw);
    }

    /// <summary>The request's threshold (query or form field), else the model's.</summary>
    static double ThresholdOf(HttpRequest request, Detector detector)
    {
        string? given = request.Query["threshold"].FirstOrDefault() ?? (request.HasFormContentType ? request.Form["threshold"].FirstOrDefault() : null);
        if (string.IsNullOrEmpty(given)) return detector.Info.Threshold;
        return double.TryParse(given, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value is >= 0 and <= 1
            ? value
            : throw UploadProblem.BadThreshold(given);
    }
}
