using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SkiaSharp;
using Veracity.Faces;
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
        api.MapGet("/model", (Detector detector, ServerApp.ServedFaces faces) => ModelCard.Of(detector, faces.Cropper?.Settings))
            .WithSummary("Backbone, input size, normalisation, training summary, validation metrics and threshold");
    }

    static async Task<IResult> Score(HttpContext context, ServeOptions options, Detector detector, ServerApp.ServedFaces faces,
        BatchScorer scorer, ServerMetrics metrics)
    {
        var watch = Stopwatch.StartNew();
        return await Guarded(context, options, metrics, async cancel =>
        {
            var uploads = await Uploads.ReadAsync(context.Request, options, options.MaxFiles, cancel);
            double threshold = ThresholdOf(context.Request, detector);
            var decoder = new ImageDecoder(options.MaxPixels);
            var prepared = uploads.Select(upload => Prepare(decoder, detector, faces.Cropper, upload)).ToList();
            var crops = prepared.SelectMany(p => p.Crops).ToList();
            var pending = scorer.TryEnqueue(crops.Select(c => c.Chw).ToList(), cancel);
            if (pending is null) return Busy(context, $"the queue holds {scorer.Queued} of {scorer.Capacity} images; retry shortly");
            float[] scores = await Task.WhenAll(pending).WaitAsync(cancel);
            double elapsed = watch.Elapsed.TotalMilliseconds;
            var results = new List<ScoreResult>();
            int next = 0;
            foreach (var image in prepared)
            {
                var own = image.Crops.Select((crop, i) => (crop.Face, Score: (double)scores[next + i])).ToList();
                next += own.Count;
                double probability = own.Max(c => c.Score);
                var faceResults = faces.Cropper is null ? null
                    : own.Where(c => c.Face is not null).Select(c => FaceResultOf(c.Face!, c.Score)).ToList();
                results.Add(new ScoreResult(image.Name, probability, ScoreResult.VerdictOf(probability, threshold), threshold,
                    image.Header.Width, image.Header.Height, elapsed, faceResults));
            }
            return Results.Json(new ScoreResponse(results));
        });
    }

    static FaceResult FaceResultOf(Face face, double probability) =>
        new(face.X, face.Y, face.Width, face.Height, face.Score, probability);

    static async Task<IResult> Explain(HttpContext context, string? format, ServeOptions options, Detector detector, ServerApp.ServedFaces faces,
        BatchScorer scorer, ServerMetrics metrics)
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
                    detail: "heatmaps need a ResNet checkpoint or an ONNX model exported with its evidence output " +
                        $"({detector.Info.Backbone}, {detector.Engine})",
                    type: "urn:veracity:problem:no-heatmaps");
            var uploads = await Uploads.ReadAsync(context.Request, options, maxFiles: 1, cancel);
            double threshold = ThresholdOf(context.Request, detector);
            var decoder = new ImageDecoder(options.MaxPixels);
            var input = Prepare(decoder, detector, faces.Cropper, uploads[0]);
            var picture = input.Picture ?? Uploads.Decode(decoder, uploads[0]); // on faces, Prepare has decoded it in full already
            int size = detector.Info.ImageSize;
            // Every crop explained (one per face, or the whole picture); the most suspicious is shown.
            var (crop, explanation) = await Task.Run(() => scorer.Exclusive(() => input.Crops.Select(c =>
            {
                using var image = tensor(c.Chw, [1, 3, size, size]);
                return (c, detector.Explain(image));
            }).MaxBy(x => x.Item2.FakeProbability)), cancel);
            var cellsToPicture = crop.Face is null
                ? SKMatrix.CreateScale((float)picture.Width / explanation.Width, (float)picture.Height / explanation.Height)
                : FaceAligner.Matrix(crop.Face, size, faces.Cropper!.Settings.Margin).Invert()
                    .PreConcat(SKMatrix.CreateScale((float)size / explanation.Width, (float)size / explanation.Height));
            byte[] png = Heatmap.OverlayPng(picture, explanation.Evidence, explanation.Width, explanation.Height, cellsToPicture);
            string verdict = ScoreResult.VerdictOf(explanation.FakeProbability, threshold);
            if (!json)
            {
                context.Response.Headers["X-Fake-Probability"] = explanation.FakeProbability.ToString("R", CultureInfo.InvariantCulture);
                context.Response.Headers["X-Verdict"] = verdict;
                return Results.File(png, "image/png");
            }
            return Results.Json(new ExplainResponse(input.Name, explanation.FakeProbability, verdict, threshold, input.Header.Width,
                input.Header.Height, watch.Elapsed.TotalMilliseconds, EvidenceMap.Of(explanation), Convert.ToBase64String(png),
                crop.Face is null ? null : FaceResultOf(crop.Face, explanation.FakeProbability)));
        });
    }

    /// <summary>
    /// Runs a handler under the request's timeout, answering refused uploads as problems, a timeout as 503, and a
    /// client that has gone with nothing (its queued images are dropped by the scorer).
    /// </summary>
    static async Task<IResult> Guarded(HttpContext context, ServeOptions options, ServerMetrics metrics,
        Func<CancellationToken, Task<IResult>> handle)
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

    sealed record PreparedCrop(Face? Face, float[] Chw);

    /// <summary>An upload ready for the network; <see cref="Picture"/> is the full-size decode when faces needed one.</summary>
    sealed record PreparedImage(string Name, ImageHeader Header, IReadOnlyList<PreparedCrop> Crops, RgbImage? Picture = null);

    /// <summary>
    /// Header first (its pixel limit is checked before any pixel is decoded), then the network's inputs: the whole
    /// picture, or on faces one aligned crop per usable face (the whole picture when none is usable, or a 422 when
    /// the settings skip such pictures).
    /// </summary>
    static PreparedImage Prepare(ImageDecoder decoder, Detector detector, FaceCropper? faces, Upload upload)
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
        float[] Chw(RgbImage image)
        {
            var chw = new float[transform.FloatCount];
            transform.Normalize.WriteChw(image, chw);
            return chw;
        }
        if (faces is null)
            return new PreparedImage(upload.Name, header,
                [new PreparedCrop(null, Chw(Uploads.Decode(decoder, upload, (transform.Width, transform.Height))))]);
        var picture = Uploads.Decode(decoder, upload);
        var crops = faces.Crops(picture, faces.Scan(picture), transform.Width, largestOnly: false);
        if (crops.Count == 0)
            throw new UploadProblem("no-face", 422, "No usable face", $"upload '{upload.Name}' has no face of at least {faces.Settings.MinSize} px");
        return new PreparedImage(upload.Name, header, crops.Select(c => new PreparedCrop(c.Face, Chw(c.Image))).ToList(), picture);
    }

    /// <summary>The request's threshold (query or form field), else the model's.</summary>
    static double ThresholdOf(HttpRequest request, Detector detector)
    {
        string? given = request.Query["threshold"].FirstOrDefault()
            ?? (request.HasFormContentType ? request.Form["threshold"].FirstOrDefault() : null);
        if (string.IsNullOrEmpty(given)) return detector.Info.Threshold;
        return double.TryParse(given, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value is >= 0 and <= 1
            ? value
            : throw UploadProblem.BadThreshold(given);
    }
}
