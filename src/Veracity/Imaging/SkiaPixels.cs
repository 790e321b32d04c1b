using SkiaSharp;

namespace Veracity.Imaging;

/// <summary>Moves pixels between Skia's RGBA bitmaps and <see cref="RgbImage"/>, and encodes JPEGs.</summary>
public static class SkiaPixels
{
    public static unsafe RgbImage ToRgb(SKBitmap bitmap)
    {
        if (bitmap.ColorType != SKColorType.Rgba8888)
        {
            using var converted = bitmap.Copy(SKColorType.Rgba8888);
            return ToRgb(converted);
        }
        var image = new RgbImage(bitmap.Width, bitmap.Height);
        var rgba = new ReadOnlySpan<byte>((void*)bitmap.GetPixels(), bitmap.RowBytes * bitmap.Height);
        var rgb = image.Pixels.AsSpan();
        for (int y = 0; y < bitmap.Height; y++)
        {
            var row = rgba.Slice(y * bitmap.RowBytes, bitmap.Width * 4);
            var outRow = rgb.Slice(y * bitmap.Width * 3, bitmap.Width * 3);
            for (int x = 0, o = 0; x < row.Length; x += 4, o += 3)
            {
                outRow[o] = row[x];
                outRow[o + 1] = row[x + 1];
                outRow[o + 2] = row[x + 2];
            }
        }
        return image;
    }

    /// <summary>An opaque RGBA bitmap holding <paramref name="image"/>; the caller disposes it.</summary>
    public static unsafe SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new Span<byte>((void*)bitmap.GetPixels(), bitmap.RowBytes * bitmap.Height);
        var rgb = image.Pixels.AsSpan();
        for (int y = 0; y < image.Height; y++)
        {
            var row = rgba.Slice(y * bitmap.RowBytes, image.Width * 4);
            var inRow = rgb.Slice(y * image.Width * 3, image.Width * 3);
            for (int x = 0, i = 0; x < row.Length; x += 4, i += 3)
            {
                row[x] = inRow[i];
                row[x + 1] = inRow[i + 1];
                row[x + 2] = inRow[i + 2];
                row[x + 3] = 255;
            }
        }
        return bitmap;
    }

    public static byte[] EncodeJpeg(RgbImage image, int quality) => Encode(image, SKEncodedImageFormat.Jpeg, quality);

    public static byte[] EncodePng(RgbImage image) => Encode(image, SKEncodedImageFormat.Png, 100);

    static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality)
    {
        using var bitmap = ToBitmap(image);
        using var data = bitmap.Encode(format, quality)
            ?? throw new InvalidOperationException($"Skia could not encode {format}");
        return data.ToArray();
    }

    /// <summary>Compresses and decompresses, as saving a JPEG and opening it again would.</summary>
    public static RgbImage JpegRoundTrip(RgbImage image, int quality)
    {
        using var decoded = SKBitmap.Decode(EncodeJpeg(image, quality))
            ?? throw new InvalidOperationException("Skia could not decode its own JPEG");
        return ToRgb(decoded);
    }
}
