using SkiaSharp;

namespace Veracity.Imaging;

/// <summary>
/// Lays a coarse evidence map (a class activation map, a few cells a side) over a picture: negative evidence is
/// clipped as Grad-CAM does, the rest scaled by the map's largest value, smoothly upsampled to the picture's size
/// and drawn in a dark-blue-to-yellow scale whose opacity grows with the evidence, so the picture stays readable
/// where the network saw nothing.
/// </summary>
public static class Heatmap
{
    /// <summary>The map clipped at zero and divided by its maximum (all zeros when nothing points towards deepfake).</summary>
    public static float[] Normalise(ReadOnlySpan<float> evidence)
    {
        float max = 0;
        foreach (float v in evidence) max = Math.Max(max, v);
        var result = new float[evidence.Length];
        if (max <= 0) return result;
        for (int i = 0; i < evidence.Length; i++) result[i] = Math.Max(0, evidence[i]) / max;
        return result;
    }

    /// <summary>
    /// The picture with the map drawn through <paramref name="cellsToPicture"/> (map cell units to picture pixels:
    /// for a face, the crop's placement in the picture), as a PNG of the picture's size.
    /// </summary>
    public static byte[] OverlayPng(RgbImage picture, float[] evidence, int mapWidth, int mapHeight, SKMatrix cellsToPicture)
    {
        if (evidence.Length != mapWidth * mapHeight)
            throw new ArgumentException($"a {mapWidth}x{mapHeight} map has {mapWidth * mapHeight} cells, not {evidence.Length}");
        using var cells = ColourCells(Normalise(evidence), mapWidth, mapHeight);
        using var bitmap = SkiaPixels.ToBitmap(picture);
        using (var canvas = new SKCanvas(bitmap))
        using (var image = SKImage.FromBitmap(cells))
        {
            // Cell i covers [i, i + 1) in map units, so its centre lands at (i + 0.5) × the scale; linear filtering
            // blends between centres.
            canvas.SetMatrix(cellsToPicture);
            canvas.DrawImage(image, new SKRect(0, 0, mapWidth, mapHeight), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static SKBitmap ColourCells(float[] intensity, int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                float t = intensity[y * width + x];
                bitmap.SetPixel(x, y, Colour(t).WithAlpha((byte)(40 + 150 * t)));
            }
        return bitmap;
    }

    /// <summary>Dark blue (0) through magenta and orange to yellow (1): ordered in lightness, readable without colour.</summary>
    static SKColor Colour(float t)
    {
        (float R, float G, float B)[] stops = [(0.05f, 0.03f, 0.35f), (0.62f, 0.10f, 0.55f), (0.95f, 0.45f, 0.15f), (1f, 0.95f, 0.25f)];
        float position = Math.Clamp(t, 0, 1) * (stops.Length - 1);
        int i = Math.Min((int)position, stops.Length - 2);
        float f = position - i;
        byte Mix(float a, float b) => (byte)Math.Round(255 * (a + (b - a) * f));
        return new SKColor(Mix(stops[i].R, stops[i + 1].R), Mix(stops[i].G, stops[i + 1].G), Mix(stops[i].B, stops[i + 1].B));
    }
}
