using SkiaSharp;

namespace Veracity.Imaging;

/// <summary>
/// One pipeline that every picture goes through before anything else, as pictures shared online do: the longer side
/// brought down to <see cref="LongSide"/> (never enlarged), then JPEG at <see cref="Quality"/>. Pictures of both classes
/// then carry the same format, size range and compression, so neither can be told by how its file was made. The
/// development corpus is built the same way (bench/devdata/build.sh: 250 px, quality 90).
/// </summary>
public sealed record Reencoding(int Quality = 90, int LongSide = 250)
{
    /// <summary>What is wrong with these settings, or null.</summary>
    public string? Problem =>
        Quality is < 1 or > 100 ? $"the JPEG quality must be 1-100, not {Quality}"
        : LongSide < 16 ? $"the longer side must be at least 16 px, not {LongSide}"
        : null;

    /// <summary>The picture as the pipeline leaves it: a JPEG file's bytes.</summary>
    public byte[] Encode(RgbImage picture)
    {
        int longer = Math.Max(picture.Width, picture.Height);
        if (longer <= LongSide) return SkiaPixels.EncodeJpeg(picture, Quality);
        double scale = (double)LongSide / longer;
        int width = Math.Max(1, (int)Math.Round(picture.Width * scale)), height = Math.Max(1, (int)Math.Round(picture.Height * scale));
        using var bitmap = SkiaPixels.ToBitmap(picture);
        using var resized = bitmap.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new InvalidOperationException($"Skia could not resize {picture.Width}x{picture.Height} to {width}x{height}");
        return SkiaPixels.EncodeJpeg(SkiaPixels.ToRgb(resized), Quality);
    }
}
