using SkiaSharp;
using Veracity.Imaging;

namespace Veracity.Faces;

/// <summary>
/// Similarity alignment: the rotation, scale and shift that best put a face's eyes, nose and mouth on a canonical
/// template (least squares, closed form), applied to the picture to cut a square crop. The template is the widely
/// used ArcFace five-point layout on a 112-px face, with the mouth's corners averaged to its centre; the crop shows
/// the face with a margin (1.3 = the face's square enlarged by 30%, as face-forensics pipelines crop). The ears are
/// not fitted: BlazeFace places them on the cheek when they are hidden, which turns the crop.
/// </summary>
public static class FaceAligner
{
    /// <summary>Template points (right eye, left eye, nose tip, mouth centre) on a face square of side 1.</summary>
    public static readonly Point2[] Template =
    [
        new(38.2946f / 112, 51.6963f / 112),
        new(73.5318f / 112, 51.5014f / 112),
        new(56.0252f / 112, 71.7366f / 112),
        new(56.1396f / 112, 92.2848f / 112),
    ];

    /// <summary>Where a template point lands in a crop of <paramref name="size"/> px with <paramref name="margin"/>.</summary>
    public static Point2 InCrop(Point2 template, int size, double margin) =>
        new((float)(((template.X - 0.5) / margin + 0.5) * size), (float)(((template.Y - 0.5) / margin + 0.5) * size));

    /// <summary>The face cut from <paramref name="image"/> as a <paramref name="size"/>-px square, eyes level and on the template.</summary>
    public static RgbImage Align(RgbImage image, Face face, int size, double margin)
    {
        var matrix = Matrix(face, size, margin);
        using var source = SkiaPixels.ToBitmap(image);
        using var crop = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(crop))
        using (var picture = SKImage.FromBitmap(source))
        {
            canvas.Clear(SKColors.Black);
            canvas.SetMatrix(matrix);
            canvas.DrawImage(picture, 0, 0, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        return SkiaPixels.ToRgb(crop);
    }

    /// <summary>From picture pixels to the face's crop of <paramref name="size"/> px (invert it to place the crop in the picture).</summary>
    public static SKMatrix Matrix(Face face, int size, double margin) =>
        Fit(face.Keypoints[..Template.Length], Template.Select(t => InCrop(t, size, margin)).ToArray());

    /// <summary>
    /// The similarity transform (uniform scale, rotation, shift) taking <paramref name="from"/> closest to
    /// <paramref name="to"/> in least squares: with both centred, [a −b; b a] where a = Σ(p·q)/Σ|p|² and
    /// b = Σ(p×q)/Σ|p|².
    /// </summary>
    public static SKMatrix Fit(IReadOnlyList<Point2> from, IReadOnlyList<Point2> to)
    {
        float fx = from.Average(p => p.X), fy = from.Average(p => p.Y), tx = to.Average(p => p.X), ty = to.Average(p => p.Y);
        double dot = 0, cross = 0, norm = 0;
        for (int i = 0; i < from.Count; i++)
        {
            double px = from[i].X - fx, py = from[i].Y - fy, qx = to[i].X - tx, qy = to[i].Y - ty;
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            norm += px * px + py * py;
        }
        if (norm <= 0) throw new VeracityException("a face's keypoints all coincide: it cannot be aligned");
        float a = (float)(dot / norm), b = (float)(cross / norm);
        return new SKMatrix(a, -b, tx - (a * fx - b * fy), b, a, ty - (b * fx + a * fy), 0, 0, 1);
    }

    public static Point2 Apply(SKMatrix matrix, Point2 point)
    {
        var mapped = matrix.MapPoint(point.X, point.Y);
        return new Point2(mapped.X, mapped.Y);
    }
}
