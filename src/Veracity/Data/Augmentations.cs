using SkiaSharp;
using Veracity.Imaging;

namespace Veracity.Data;

/// <summary>Rotates by a random angle in ±<see cref="Degrees"/> about the centre, filling the corners by reflection-free clamping.</summary>
public sealed record RandomRotation(double Degrees) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        float angle = (float)((rng.NextDouble() * 2 - 1) * Degrees);
        SkiaRedraw.Apply(image, canvas => canvas.RotateDegrees(angle, image.Width / 2f, image.Height / 2f));
    }
}

/// <summary>Redraws an image through a Skia canvas transform and/or image filter, in place.</summary>
static class SkiaRedraw
{
    public static void Apply(RgbImage image, Action<SKCanvas> transform, SKImageFilter? filter = null)
    {
        using var source = SkiaPixels.ToBitmap(image);
        using var target = new SKBitmap(source.Info);
        using (var canvas = new SKCanvas(target))
        {
            using var skImage = SKImage.FromBitmap(source);
            // Paint the clamped-edge image first so rotated corners are not black.
            using var edges = new SKPaint { Shader = skImage.ToShader(SKShaderTileMode.Clamp, SKShaderTileMode.Clamp) };
            canvas.DrawRect(0, 0, image.Width, image.Height, edges);
            transform(canvas);
            using var paint = new SKPaint { ImageFilter = filter };
            canvas.DrawImage(skImage, 0, 0, new SKSamplingOptions(SKFilterMode.Linear), paint);
        }
        SkiaPixels.ToRgb(target).Pixels.CopyTo(image.Pixels, 0);
    }
}

/// <summary>Random brightness, contrast and saturation changes of up to ±<see cref="Strength"/>.</summary>
public sealed record ColorJitter(double Strength) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        double brightness = 1 + (rng.NextDouble() * 2 - 1) * Strength;
        double contrast = 1 + (rng.NextDouble() * 2 - 1) * Strength;
        double saturation = 1 + (rng.NextDouble() * 2 - 1) * Strength;
        var p = image.Pixels;
        double mean = 0;
        for (int i = 0; i < p.Length; i += 3) mean += 0.299 * p[i] + 0.587 * p[i + 1] + 0.114 * p[i + 2];
        mean /= p.Length / 3;
        for (int i = 0; i < p.Length; i += 3)
        {
            double grey = 0.299 * p[i] + 0.587 * p[i + 1] + 0.114 * p[i + 2];
            for (int c = 0; c < 3; c++)
            {
                double v = (grey + (p[i + c] - grey) * saturation) * brightness;
                v = mean + (v - mean) * contrast;
                p[i + c] = (byte)Math.Clamp(Math.Round(v), 0, 255);
            }
        }
    }
}

/// <summary>Crops a random region of <see cref="MinScale"/>..1 of the area (aspect 3:4..4:3) and scales it back to full size.</summary>
public sealed record RandomResizedCrop(double MinScale) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        double area = MinScale + rng.NextDouble() * (1 - MinScale);
        double aspect = Math.Exp(Math.Log(3 / 4.0) + rng.NextDouble() * Math.Log(16 / 9.0));
        float w = (float)Math.Min(image.Width, image.Width * Math.Sqrt(area * aspect));
        float h = (float)Math.Min(image.Height, image.Height * Math.Sqrt(area / aspect));
        float x = (float)(rng.NextDouble() * (image.Width - w)), y = (float)(rng.NextDouble() * (image.Height - h));
        SkiaRedraw.Apply(image, canvas =>
        {
            canvas.Scale(image.Width / w, image.Height / h);
            canvas.Translate(-x, -y);
        });
    }
}

/// <summary>With probability <see cref="P"/>, a Gaussian blur of σ 0.1–2 pixels (out-of-focus, resized uploads).</summary>
public sealed record RandomGaussianBlur(double P) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        if (rng.NextDouble() >= P) return;
        float sigma = (float)(0.1 + rng.NextDouble() * 1.9);
        using var blur = SKImageFilter.CreateBlur(sigma, sigma, SKShaderTileMode.Clamp);
        SkiaRedraw.Apply(image, _ => { }, blur);
    }
}

/// <summary>With probability <see cref="P"/>, re-saves as JPEG at quality 30–95, as sharing platforms do.</summary>
public sealed record RandomJpeg(double P) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        if (rng.NextDouble() >= P) return;
        SkiaPixels.JpegRoundTrip(image, rng.Next(30, 96)).Pixels.CopyTo(image.Pixels, 0);
    }
}

/// <summary>
/// With probability <see cref="P"/>, scales the image down to 40–90% and back up, each way with a randomly chosen
/// filter (nearest, linear, cubic): generators and platforms resample differently, and a detector should not key on
/// one resampling trace.
/// </summary>
public sealed record RandomDownUp(double P) : IImageTransform
{
    static readonly SKSamplingOptions[] Filters =
    [
        new(SKFilterMode.Nearest), new(SKFilterMode.Linear), new(SKCubicResampler.CatmullRom), new(SKCubicResampler.Mitchell),
    ];

    public void Apply(RgbImage image, Random rng)
    {
        if (rng.NextDouble() >= P) return;
        double scale = 0.4 + rng.NextDouble() * 0.5;
        int w = Math.Max(8, (int)Math.Round(image.Width * scale)), h = Math.Max(8, (int)Math.Round(image.Height * scale));
        using var bitmap = SkiaPixels.ToBitmap(image);
        using var small = bitmap.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque), Filters[rng.Next(Filters.Length)]);
        using var back = small.Resize(bitmap.Info, Filters[rng.Next(Filters.Length)]);
        SkiaPixels.ToRgb(back).Pixels.CopyTo(image.Pixels, 0);
    }
}

/// <summary>
/// With probability <see cref="P"/>, adds Gaussian noise of σ 1–8 grey levels (sensor noise, or its absence in generated faces).
/// </summary>
public sealed record RandomNoise(double P) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        if (rng.NextDouble() >= P) return;
        double sigma = 1 + rng.NextDouble() * 7;
        var p = image.Pixels;
        for (int i = 0; i < p.Length; i++)
        {
            // Box–Muller: one normal draw per channel value.
            double normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            p[i] = (byte)Math.Clamp(Math.Round(p[i] + sigma * normal), 0, 255);
        }
    }
}

/// <summary>
/// With probability <see cref="P"/>, fills a random rectangle of 2–25% of the area with random grey levels
/// (random erasing): the detector cannot rest its verdict on one region, such as a seam or the background.
/// </summary>
public sealed record RandomErasing(double P) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        if (rng.NextDouble() >= P) return;
        double area = 0.02 + rng.NextDouble() * 0.23, aspect = Math.Exp(Math.Log(0.3) + rng.NextDouble() * Math.Log(1 / 0.09));
        int w = Math.Clamp((int)Math.Round(image.Width * Math.Sqrt(area * aspect)), 1, image.Width);
        int h = Math.Clamp((int)Math.Round(image.Height * Math.Sqrt(area / aspect)), 1, image.Height);
        int x0 = rng.Next(image.Width - w + 1), y0 = rng.Next(image.Height - h + 1);
        for (int y = y0; y < y0 + h; y++)
            rng.NextBytes(image.Pixels.AsSpan((y * image.Width + x0) * 3, w * 3));
    }
}
