using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SkiaSharp;
using Veracity.Data;
using Veracity.Faces;
using Veracity.Imaging;
using Veracity.Inference;

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
        api.MapGet("/model", (Detector detector, PicturePreparer preparer, ServeOptions options) =>
                ModelCard.Of(detector, preparer.Cropper?.Settings, options.BuiltIn))
            .WithSummary("Backbone, input size, normalisation, training summary, validation metrics and threshold");
    }

    static async Task<IResult> Score(HttpContext context, ServeOptions options, Detector detector, PicturePreparer preparer, BatchScorer scorer,
        Admission admission, ServerMetrics metrics)
    {
        var watch = Stopwatch.StartNew();
        return await Guarded(context, options, metrics, admission, async cancel =>
        {
            var form = await Uploads.ReadAsync(context.Request, options, options.MaxFiles, cancel);
            double threshold = ThresholdOf(context.Request, form, detector);
            // The queue's places come before any decoding: one per picture, and more for a picture with several faces.
            using var places = scorer.TryReserve(form.Files.Count);
            if (places is null) return QueueFull(context, scorer);
            var pictures = new List<(PreparedPicture Picture, Task<float[]> Scores)>(form.Files.Count);
            int inputs = 0;
            foreach (var upload in form.Files)
            {
                var picture = await PrepareAsync(preparer, admission, upload, cancel);
                inputs += picture.Inputs.Count;
                if (inputs > scorer.Capacity) throw UploadProblem.MoreThanTheQueue(inputs, "faces", scorer.Capacity);
                if (!places.TryGrow(picture.Inputs.Count - 1)) return QueueFull(context, scorer);
                pictures.Add((picture, Task.WhenAll(places.Score(picture.Inputs.Select(i => i.Chw).ToList(), cancel))));
            }
            var results = new List<ScoreResult>(pictures.Count);
            foreach (var (picture, scores) in pictures)
            {
                var scored = picture.Scored(await scores.WaitAsync(cancel), preparer.OnFaces);
                double probability = scored.Score!.Value;
                results.Add(new ScoreResult(picture.Name, probability, ScoreResult.VerdictOf(probability, threshold), threshold,
                    picture.Header!.Width, picture.Header.Height, watch.Elapsed.TotalMilliseconds, scored.Faces));
            }
            return Results.Json(new ScoreResponse(results));
        });
    }

    static async Task<IResult> Explain(HttpContext context, string? format, ServeOptions options, Detector detector, PicturePreparer preparer,
        BatchScorer scorer, Admission admission, ServerMetrics metrics)
    {
        var watch = Stopwatch.StartNew();
        return await Guarded(context, options, metrics, admission, async cancel =>
        {
            bool json = (format ?? "png").ToLowerInvariant() switch
            {
                "png" => false,
                "json" => true,
                _ => throw new UploadProblem("bad-format", 400, "Unknown format", $"format must be png or json, not '{format}'"),
            };
            if (!detector.CanExplain)
                return Results.Problem(statusCode: StatusCodes.Status501NotImplemented, title: "No heatmaps for this model",
                    detail: "heatmaps need a ResNet checkpoint or an ONNX model exported with its evidence output " +
                        $"({detector.Info.Backbone}, {detector.Engine})",
                    type: "urn:veracity:problem:no-heatmaps");
            var form = await Uploads.ReadAsync(context.Request, options, maxFiles: 1, cancel);
            double threshold = ThresholdOf(context.Request, form, detector);
            using var places = scorer.TryReserve(1);
            if (places is null) return QueueFull(context, scorer);
            var upload = form.Files[0];
            RgbImage picture;
            PreparedPicture input;
            using (await admission.DecodeSlotAsync(cancel))
                (picture, input) = Decoded(upload, () =>
                {
                    var header = preparer.Decoder.ReadHeader(upload.Bytes, upload.Name);
                    var full = preparer.Decoder.Decode(upload.Bytes, upload.Name); // the overlay is drawn at the picture's own size
                    return (full, preparer.OnFaces ? preparer.Prepare(full, upload.Name, header) : preparer.Prepare(upload.Bytes, upload.Name));
                });
            RequireInputs(input, preparer);
            int size = detector.Info.ImageSize;
            // Every input explained (one per face, or the whole picture) in one turn on the network; the most suspicious is shown.
            var (crop, explanation) = await places.Run(() => input.Inputs.Select(c => (c, detector.Explain(new PixelBatch(c.Chw, 1, size, size))))
                .MaxBy(x => x.Item2.FakeProbability), cancel).WaitAsync(cancel);
            var cellsToPicture = crop.Face is null
                ? SKMatrix.CreateScale((float)picture.Width / explanation.Width, (float)picture.Height / explanation.Height)
                : FaceAligner.Matrix(crop.Face, size, preparer.Cropper!.Settings.Margin).Invert()
                    .PreConcat(SKMatrix.CreateScale((float)size / explanation.Width, (float)size / explanation.Height));
            byte[] png = Heatmap.OverlayPng(picture, explanation.Evidence, explanation.Width, explanation.Height, cellsToPicture);
            string verdict = ScoreResult.VerdictOf(explanation.FakeProbability, threshold);
            if (!json)
            {
                context.Response.Headers["X-Fake-Probability"] = explanation.FakeProbability.ToString("R", CultureInfo.InvariantCulture);
                context.Response.Headers["X-Verdict"] = verdict;
                return Results.File(png, "image/png");
            }
            return Results.Json(new ExplainResponse(input.Name, explanation.FakeProbability, verdict, threshold, input.Header!.Width,
                input.Header.Height, watch.Elapsed.TotalMilliseconds, EvidenceMap.Of(explanation), Convert.ToBase64String(png),
                crop.Face is null ? null : ScoredFace.Of(crop.Face, explanation.FakeProbability)));
        });
    }

    /// <summary>An upload decoded and cut in one of the decode slots; the decoder's refusal becomes an HTTP problem.</summary>
    static async Task<PreparedPicture> PrepareAsync(PicturePreparer preparer, Admission admission, Upload upload, CancellationToken cancel)
    {
        PreparedPicture picture;
        using (await admission.DecodeSlotAsync(cancel))
            picture = Decoded(upload, () => preparer.Prepare(upload.Bytes, upload.Name));
        RequireInputs(picture, preparer);
        return picture;
    }

    static T Decoded<T>(Upload upload, Func<T> decode)
    {
        try
        {
            return decode();
        }
        catch (ImageDecodeException e)
        {
            throw UploadProblem.From(e);
        }
    }

    /// <summary>On faces, a picture without a usable face is refused (422) when the settings skip such pictures.</summary>
    static void RequireInputs(PreparedPicture picture, PicturePreparer preparer)
    {
        if (picture.Inputs.Count == 0)
            throw new UploadProblem("no-face", 422, "No usable face",
                $"upload '{picture.Name}' has no face of at least {preparer.Cropper!.Settings.MinSize} px");
    }

    /// <summary>
    /// Runs a handler under the request's timeout, answering refused uploads as problems, a timeout as 503, and a
    /// client that has gone with nothing (its queued images are dropped by the scorer).
    /// </summary>
    static async Task<IResult> Guarded(HttpContext context, ServeOptions options, ServerMetrics metrics, Admission admission,
        Func<CancellationToken, Task<IResult>> handle)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            using var admitted = admission.TryAdmit(context.Request);
            if (admitted is null)
                return Busy(context, $"the server is taking no more requests now ({options.MaxConcurrentRequests} at once, " +
                    $"{options.MaxBytesInFlight:N0} bytes in flight); retry shortly");
            return await handle(timeout.Token);
        }
        catch (UploadProblem problem)
        {
            metrics.RejectedUploads.WithLabels(problem.Kind).Inc();
            return Results.Problem(statusCode: problem.Status, title: problem.Title, detail: problem.Message, type: problem.Type);
        }
        catch (ScorerStoppedException stopped)
        {
            return Busy(context, $"{stopped.Message}; the server is stopping");
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

    static IResult QueueFull(HttpContext context, BatchScorer scorer) =>
        Busy(context, $"the queue holds {scorer.Queued} of {scorer.Capacity} images; retry shortly");

    static IResult Busy(HttpContext context, string detail)
    {
        context.Response.Headers.RetryAfter = "1";
        return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Server busy", detail: detail,
            type: "urn:veracity:problem:busy");
    }

    /// <summary>The request's threshold (query or form field), else the model's.</summary>
    static double ThresholdOf(HttpRequest request, UploadForm form, Detector detector)
    {
        string? given = request.Query["threshold"].FirstOrDefault() ?? form.Fields.GetValueOrDefault("threshold");
        if (string.IsNullOrEmpty(given)) return detector.Info.Threshold;
        return double.TryParse(given, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value is >= 0 and <= 1
            ? value
            : throw UploadProblem.BadThreshold(given);
    }
}
