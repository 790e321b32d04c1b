using SkiaSharp;
using Veracity.Imaging;

namespace Veracity.Faces;

/// <summary>
/// A contact sheet to look at rather than read: each picture with its faces boxed (used faces solid, faces too
/// small to use dashed, keypoints as dots), followed by the aligned crops cut from it.
/// </summary>
public static class FacePreview
{
    const int RowHeight = 200, Gap = 8;

    public static void Write(string path, IReadOnlyList<(RgbImage Picture, FaceScan Scan, IReadOnlyList<FaceCrop> Crops)> rows)
    {
        if (rows.Count == 0) return;
        var widths = rows.Select(r => Gap + Scaled(r.Picture) + r.Crops.Count * (RowHeight + Gap)).ToList();
        int width = Math.Max(widths.Max(), 320), height = rows.Count * (RowHeight + Gap) + Gap;
        using var sheet = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(sheet))
        using (var used = new SKPaint { Color = new SKColor(0, 220, 90), Style = SKPaintStyle.Stroke, StrokeWidth = 3, IsAntialias = true })
        using (var small = new SKPaint { Color = new SKColor(255, 190, 0), Style = SKPaintStyle.Stroke, StrokeWidth = 2, IsAntialias = true,
                   PathEffect = SKPathEffect.CreateDash([6, 4], 0) })
        using (var dot = new SKPaint { Color = new SKColor(255, 40, 80), IsAntialias = true })
        {
            canvas.Clear(new SKColor(32, 34, 40));
            for (int r = 0; r < rows.Count; r++)
            {
                var (picture, scan, crops) = rows[r];
                float top = Gap + r * (RowHeight + Gap), scale = (float)RowHeight / picture.Height;
                Draw(canvas, picture, new SKRect(Gap, top, Gap + Scaled(picture), top + RowHeight));
                SKRect Box(Face f) => new(Gap + f.X * scale, top + f.Y * scale, Gap + (f.X + f.Width) * scale, top + (f.Y + f.Height) * scale);
                foreach (var face in scan.Small) canvas.DrawRect(Box(face), small);
                foreach (var face in scan.Usable)
                {
                    canvas.DrawRect(Box(face), used);
                    foreach (var k in face.Keypoints) canvas.DrawCircle(Gap + k.X * scale, top + k.Y * scale, 3, dot);
                }
                float left = Gap + Scaled(picture) + Gap;
                foreach (var crop in crops)
                {
                    Draw(canvas, crop.Image, new SKRect(left, top, left + RowHeight, top + RowHeight));
                    left += RowHeight + Gap;
                }
            }
        }
        using var data = sheet.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.ToArray());
    }

    static int Scaled(RgbImage picture) => (int)Math.Round(picture.Width * (double)RowHeight / picture.Height);

    static void Draw(SKCanvas canvas, RgbImage image, SKRect where)
    {
        using var bitmap = SkiaPixels.ToBitmap(image);
        using var picture = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(picture, where, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
    }
}
