using SkiaSharp;
using Veracity.Imaging;

namespace Veracity.Synth;

/// <summary>
/// Paints procedural "camera photos": a lit backdrop with texture, a ground plane, shaded objects, a face-like
/// figure in the middle, slight optical blur and sensor noise. Every choice comes from the given Random, so a
/// seed gives the same picture on every run.
/// </summary>
public static class SceneRenderer
{
    public static RgbImage Render(int size, Random rng)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            DrawBackdrop(canvas, size, rng);
            int objects = rng.Next(3, 9);
            for (int i = 0; i < objects; i++) DrawObject(canvas, size, rng);
            DrawFigure(canvas, size, rng);
        }
        using var blurred = Blur(bitmap, (float)(0.3 + rng.NextDouble() * 0.9) * size / 256f);
        var image = SkiaPixels.ToRgb(blurred);
        AddSensorNoise(image, rng, sigma: 1.0 + rng.NextDouble() * 3.0);
        return image;
    }

    static void DrawBackdrop(SKCanvas canvas, int size, Random rng)
    {
        var top = RandomColor(rng, 60, 230);
        var bottom = Shade(top, 0.4 + rng.NextDouble() * 0.5);
        double angle = rng.NextDouble() * Math.PI;
        var from = new SKPoint(size / 2f - (float)Math.Cos(angle) * size, 0);
        var to = new SKPoint(size / 2f + (float)Math.Cos(angle) * size / 2, size);
        using (var paint = new SKPaint { Shader = SKShader.CreateLinearGradient(from, to, [top, bottom], SKShaderTileMode.Clamp) })
            canvas.DrawRect(0, 0, size, size, paint);

        // Texture: fractal noise at low opacity, like plaster, foliage or fabric.
        float frequency = (float)(0.01 + rng.NextDouble() * 0.08) * 256f / size;
        using (var paint = new SKPaint
        {
            Shader = SKShader.CreatePerlinNoiseFractalNoise(frequency, frequency * (float)(0.5 + rng.NextDouble()), rng.Next(2, 5), rng.Next()),
            BlendMode = SKBlendMode.Overlay,
            Color = SKColors.White.WithAlpha((byte)rng.Next(40, 140)),
        })
            canvas.DrawRect(0, 0, size, size, paint);

        // Ground plane.
        float horizon = size * (float)(0.55 + rng.NextDouble() * 0.3);
        var ground = RandomColor(rng, 40, 180);
        using (var paint = new SKPaint
        {
            Shader = SKShader.CreateLinearGradient(new SKPoint(0, horizon), new SKPoint(0, size),
                [ground, Shade(ground, 0.5)], SKShaderTileMode.Clamp),
        })
            canvas.DrawRect(0, horizon, size, size - horizon, paint);
    }

    static void DrawObject(SKCanvas canvas, int size, Random rng)
    {
        float cx = (float)rng.NextDouble() * size, cy = (float)rng.NextDouble() * size;
        float r = size * (float)(0.04 + rng.NextDouble() * 0.2);
        var color = RandomColor(rng, 20, 240);
        var lit = Shade(color, 1.4);
        var dark = Shade(color, 0.45);
        // Light from the upper left: highlight offset towards it, shadow beneath.
        using var paint = new SKPaint
        {
            IsAntialias = true,
            Shader = SKShader.CreateRadialGradient(new SKPoint(cx - r * 0.35f, cy - r * 0.35f), r * 1.4f,
                [lit, color, dark], [0, 0.5f, 1], SKShaderTileMode.Clamp),
        };
        if (rng.NextDouble() < 0.3)
            paint.MaskFilter = SKMaskFilter.CreateBlur(SKBlurStyle.Normal, r * 0.08f); // out of focus
        using var shadow = new SKPaint
        {
            IsAntialias = true,
            Color = SKColors.Black.WithAlpha(60),
            MaskFilter = SKMaskFilter.CreateBlur(SKBlurStyle.Normal, r * 0.15f),
        };
        switch (rng.Next(3))
        {
            case 0:
                float ry = r * (float)(0.5 + rng.NextDouble());
                canvas.DrawOval(cx + r * 0.1f, cy + r * 0.15f, r, ry, shadow);
                canvas.DrawOval(cx, cy, r, ry, paint);
                break;
            case 1:
                var rect = SKRect.Create(cx - r, cy - r * 0.7f, 2 * r, r * (float)(0.8 + rng.NextDouble() * 1.2));
                canvas.DrawRoundRect(rect.Left + r * 0.1f, rect.Top + r * 0.15f, rect.Width, rect.Height, r * 0.2f, r * 0.2f, shadow);
                canvas.DrawRoundRect(rect, r * 0.2f, r * 0.2f, paint);
                break;
            default:
                using (var builder = new SKPathBuilder())
                {
                    int corners = rng.Next(3, 7);
                    for (int k = 0; k < corners; k++)
                    {
                        double a = 2 * Math.PI * k / corners + rng.NextDouble() * 0.5;
                        float rr = r * (float)(0.6 + rng.NextDouble() * 0.5);
                        var p = new SKPoint(cx + rr * (float)Math.Cos(a), cy + rr * (float)Math.Sin(a));
                        if (k == 0) builder.MoveTo(p); else builder.LineTo(p);
                    }
                    builder.Close();
                    using var path = builder.Detach();
                    canvas.DrawPath(path, paint);
                }
                break;
        }
    }

    /// <summary>A face-like figure near the centre: head, neck, eyes, brows and mouth, in skin tones.</summary>
    static void DrawFigure(SKCanvas canvas, int size, Random rng)
    {
        float cx = size * (float)(0.4 + rng.NextDouble() * 0.2), cy = size * (float)(0.4 + rng.NextDouble() * 0.15);
        float rx = size * (float)(0.16 + rng.NextDouble() * 0.08), ry = rx * (float)(1.2 + rng.NextDouble() * 0.2);
        var skin = SkinTone(rng);
        using var body = new SKPaint
        {
            IsAntialias = true,
            Shader = SKShader.CreateRadialGradient(new SKPoint(cx - rx * 0.3f, cy - ry * 0.3f), ry * 1.5f,
                [Shade(skin, 1.25), skin, Shade(skin, 0.55)], [0, 0.45f, 1], SKShaderTileMode.Clamp),
        };
        canvas.DrawRect(cx - rx * 0.45f, cy + ry * 0.6f, rx * 0.9f, size, body);
        canvas.DrawOval(cx, cy, rx, ry, body);

        var hair = RandomColor(rng, 10, 120);
        using (var paint = new SKPaint { IsAntialias = true, Color = hair })
            canvas.DrawArc(SKRect.Create(cx - rx * 1.05f, cy - ry * 1.08f, rx * 2.1f, ry * 1.2f), 180, 180, true, paint);

        float eyeY = cy - ry * 0.1f, eyeDx = rx * 0.4f, eyeR = rx * 0.14f;
        var iris = RandomColor(rng, 20, 140);
        using var white = new SKPaint { IsAntialias = true, Color = new SKColor(235, 230, 225) };
        using var pupil = new SKPaint { IsAntialias = true, Color = iris };
        using var line = new SKPaint { IsAntialias = true, Color = Shade(hair, 0.8), Style = SKPaintStyle.Stroke, StrokeWidth = rx * 0.06f };
        foreach (float side in (float[])[-1, 1])
        {
            canvas.DrawOval(cx + side * eyeDx, eyeY, eyeR * 1.5f, eyeR, white);
            canvas.DrawCircle(cx + side * eyeDx, eyeY, eyeR * 0.7f, pupil);
            canvas.DrawLine(cx + side * eyeDx - eyeR * 1.4f, eyeY - eyeR * 1.8f, cx + side * eyeDx + eyeR * 1.4f, eyeY - eyeR * 2.0f, line);
        }
        using var mouth = new SKPaint
        {
            IsAntialias = true,
            Color = Shade(new SKColor(170, 80, 80), 0.8 + rng.NextDouble() * 0.4),
            Style = SKPaintStyle.Stroke,
            StrokeWidth = rx * 0.08f,
            StrokeCap = SKStrokeCap.Round,
        };
        float mouthY = cy + ry * 0.45f;
        canvas.DrawArc(SKRect.Create(cx - rx * 0.35f, mouthY - ry * 0.15f, rx * 0.7f, ry * 0.2f), 20, 140, false, mouth);
    }

    static SKBitmap Blur(SKBitmap source, float sigma)
    {
        var result = new SKBitmap(source.Info);
        using var canvas = new SKCanvas(result);
        using var image = SKImage.FromBitmap(source);
        using var paint = new SKPaint { ImageFilter = SKImageFilter.CreateBlur(sigma, sigma, SKShaderTileMode.Clamp) };
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear), paint);
        return result;
    }

    /// <summary>Shot noise plus a little chroma noise, like a small camera sensor.</summary>
    static void AddSensorNoise(RgbImage image, Random rng, double sigma)
    {
        var pixels = image.Pixels;
        for (int p = 0; p < pixels.Length; p += 3)
        {
            double luma = Gaussian(rng) * sigma;
            for (int c = 0; c < 3; c++)
                pixels[p + c] = ClampByte(pixels[p + c] + luma + Gaussian(rng) * sigma * 0.4);
        }
    }

    internal static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    internal static byte ClampByte(double value) => (byte)Math.Clamp(Math.Round(value), 0, 255);

    static SKColor RandomColor(Random rng, int min, int max) =>
        new((byte)rng.Next(min, max), (byte)rng.Next(min, max), (byte)rng.Next(min, max));

    static SKColor SkinTone(Random rng)
    {
        double t = rng.NextDouble();
        return new SKColor((byte)(250 - 150 * t), (byte)(205 - 130 * t), (byte)(175 - 120 * t));
    }

    static SKColor Shade(SKColor color, double factor) =>
        new(ClampByte(color.Red * factor), ClampByte(color.Green * factor), ClampByte(color.Blue * factor));
}
