using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SkiaSharp;
using Veracity.Imaging;

namespace Veracity.Faces;

/// <summary>A point in image pixels.</summary>
public readonly record struct Point2(float X, float Y);

/// <summary>
/// A detected face in image pixels: its box, MediaPipe's six keypoints (the subject's right eye, left eye, nose
/// tip, mouth centre, right ear, left ear; the right eye is on the image's left for a face looking at the camera)
/// and the detector's confidence.
/// </summary>
public sealed record Face(float X, float Y, float Width, float Height, Point2[] Keypoints, float Score)
{
    public float Size => Math.Max(Width, Height);
    public Point2 RightEye => Keypoints[0];
    public Point2 LeftEye => Keypoints[1];

    public float IoU(Face other)
    {
        float x0 = Math.Max(X, other.X), y0 = Math.Max(Y, other.Y);
        float x1 = Math.Min(X + Width, other.X + other.Width), y1 = Math.Min(Y + Height, other.Y + other.Height);
        float inner = Math.Max(0, x1 - x0) * Math.Max(0, y1 - y0);
        return inner / (Width * Height + other.Width * other.Height - inner);
    }
}

/// <summary>
/// Which BlazeFace: short range (front camera, faces filling much of the picture), full range (faces near and far), or
/// auto: full range, and short range instead when the picture is a close-up (<see cref="FaceCropper"/>).
/// </summary>
public enum FaceModel { Auto, Short, Full }

/// <summary>
/// MediaPipe BlazeFace on ONNX Runtime. The picture is letterboxed into the model's square input (NHWC, values in
/// [-1, 1]); the two SSD heads (a 16×16 grid with 2 anchors per cell, an 8×8 grid with 6) are decoded from their
/// anchor centres as MediaPipe does (offsets in input pixels, box size in input pixels, anchors of unit size), and
/// overlapping detections are blended by weighted non-maximum suppression (MediaPipe's "weighted" mode, IoU 0.3).
/// The models ship with the project (Faces/BlazeFace, Apache-2.0; see its NOTICE).
/// </summary>
public sealed class FaceDetector : IDisposable
{
    public const float DefaultThreshold = 0.5f;
    const float OverlapIoU = 0.3f;

    readonly InferenceSession _session;
    readonly string _input;
    readonly string[] _outputs;
    readonly int _size;

    FaceDetector(InferenceSession session, int size)
    {
        _session = session;
        _size = size;
        _input = session.InputMetadata.Keys.Single();
        // The heads, told apart by shape: scores end in 1 value per anchor, boxes in 16 (box and six keypoints);
        // the 16×16 grid has 512 anchors, the 8×8 one 384.
        string Head(int anchors, int values) => session.OutputMetadata
            .Where(o => o.Value.Dimensions is [.., var n, var v] && n == anchors && v == values).Select(o => o.Key).SingleOrDefault()
            ?? throw new VeracityException($"the BlazeFace model has no output of {anchors}×{values} " +
                                           "(" + string.Join(", ", session.OutputMetadata
                                               .Select(o => $"{o.Key} [{string.Join(",", o.Value.Dimensions)}]")) + ")");
        _outputs = [Head(512, 1), Head(384, 1), Head(512, 16), Head(384, 16)];
    }

    public FaceModel Model { get; private init; }
    public float Threshold { get; init; } = DefaultThreshold;

    public static string ModelPath(FaceModel model) => Path.Combine(AppContext.BaseDirectory, "BlazeFace",
        model == FaceModel.Short ? "face_detection_front_128x128_barracuda.onnx" : "face_detection_back_256x256_barracuda.onnx");

    /// <summary>Opens a detector; one ONNX Runtime thread, since callers detect on several images in parallel.</summary>
    public static FaceDetector Open(FaceModel model = FaceModel.Full, float threshold = DefaultThreshold)
    {
        if (model == FaceModel.Auto) throw new ArgumentException("a detector runs one model: open Short or Full", nameof(model));
        string path = ModelPath(model);
        if (!File.Exists(path)) throw new VeracityException($"face model not found: {path} (it ships with the build)");
        // Errors only: the converted models carry unused initializers, which ONNX Runtime reports as warnings at every load.
        var options = new SessionOptions
        {
            IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        var session = new InferenceSession(path, options);
        try
        {
            return new FaceDetector(session, model == FaceModel.Short ? 128 : 256) { Model = model, Threshold = threshold };
        }
        catch
        {
            session.Dispose(); // a model without the expected heads: nothing else holds the session
            throw;
        }
    }

    /// <summary>The faces in <paramref name="image"/>, most confident first.</summary>
    public IReadOnlyList<Face> Detect(RgbImage image)
    {
        var (input, scale, padX, padY) = Letterbox(image);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [1, _size, _size, 3]);
        using var options = new RunOptions();
        using var outputs = _session.Run(options, [_input], [value], _outputs);
        var candidates = new List<Face>();
        Decode(outputs[0].GetTensorDataAsSpan<float>(), outputs[2].GetTensorDataAsSpan<float>(), cells: 16, anchors: 2, candidates);
        Decode(outputs[1].GetTensorDataAsSpan<float>(), outputs[3].GetTensorDataAsSpan<float>(), cells: 8, anchors: 6, candidates);
        // From the letterboxed square (0–1) back to the picture's pixels.
        Point2 ToImage(Point2 p) => new((p.X * _size - padX) / scale, (p.Y * _size - padY) / scale);
        return WeightedSuppression(candidates).Select(f =>
        {
            var corner = ToImage(new Point2(f.X, f.Y));
            return f with
            {
                X = corner.X, Y = corner.Y, Width = f.Width * _size / scale, Height = f.Height * _size / scale,
                Keypoints = f.Keypoints.Select(ToImage).ToArray(),
            };
        }).ToList();
    }

    /// <summary>The picture scaled to fit the model's square, centred on black, as NHWC floats in [-1, 1].</summary>
    (float[] Input, float Scale, float PadX, float PadY) Letterbox(RgbImage image)
    {
        float scale = (float)_size / Math.Max(image.Width, image.Height);
        float width = image.Width * scale, height = image.Height * scale;
        float padX = (_size - width) / 2, padY = (_size - height) / 2;
        using var source = SkiaPixels.ToBitmap(image);
        using var square = new SKBitmap(new SKImageInfo(_size, _size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(square))
        using (var picture = SKImage.FromBitmap(source))
        {
            canvas.Clear(SKColors.Black);
            canvas.DrawImage(picture, new SKRect(padX, padY, padX + width, padY + height),
                new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        var rgb = SkiaPixels.ToRgb(square).Pixels;
        var input = new float[rgb.Length];
        for (int i = 0; i < rgb.Length; i++) input[i] = rgb[i] / 127.5f - 1;
        return (input, scale, padX, padY);
    }

    /// <summary>One head's detections above the threshold, in the letterboxed square's 0–1 coordinates.</summary>
    void Decode(ReadOnlySpan<float> scores, ReadOnlySpan<float> boxes, int cells, int anchors, List<Face> into)
    {
        float unit = 1f / _size;
        for (int cy = 0; cy < cells; cy++)
            for (int cx = 0; cx < cells; cx++)
                for (int a = 0; a < anchors; a++)
                {
                    int index = (cy * cells + cx) * anchors + a;
                    float score = 1 / (1 + MathF.Exp(-Math.Clamp(scores[index], -80f, 80f)));
                    if (score < Threshold) continue;
                    var box = boxes.Slice(index * 16, 16);
                    float ax = (cx + 0.5f) / cells, ay = (cy + 0.5f) / cells;
                    float centreX = ax + box[0] * unit, centreY = ay + box[1] * unit, width = box[2] * unit, height = box[3] * unit;
                    var keypoints = new Point2[6];
                    for (int k = 0; k < 6; k++) keypoints[k] = new Point2(ax + box[4 + 2 * k] * unit, ay + box[5 + 2 * k] * unit);
                    into.Add(new Face(centreX - width / 2, centreY - height / 2, width, height, keypoints, score));
                }
    }

    /// <summary>
    /// MediaPipe's weighted non-maximum suppression: the most confident remaining detection takes every other that
    /// overlaps it by IoU ≥ 0.3, and the group becomes their score-weighted mean box and keypoints with the best score.
    /// </summary>
    static List<Face> WeightedSuppression(List<Face> candidates)
    {
        var remaining = candidates.OrderByDescending(f => f.Score).ToList();
        var result = new List<Face>();
        while (remaining.Count > 0)
        {
            var best = remaining[0];
            var group = remaining.Where(f => best.IoU(f) >= OverlapIoU).ToList();
            remaining.RemoveAll(group.Contains);
            float total = group.Sum(f => f.Score);
            float Mean(Func<Face, float> value) => group.Sum(f => value(f) * f.Score) / total;
            result.Add(new Face(Mean(f => f.X), Mean(f => f.Y), Mean(f => f.Width), Mean(f => f.Height),
                Enumerable.Range(0, 6).Select(k => new Point2(Mean(f => f.Keypoints[k].X), Mean(f => f.Keypoints[k].Y))).ToArray(), best.Score));
        }
        return result;
    }

    public void Dispose() => _session.Dispose();
}
