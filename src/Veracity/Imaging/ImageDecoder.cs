using SkiaSharp;

namespace Veracity.Imaging;

/// <summary>Why an image cannot be decoded, for callers that answer each kind differently (the server's HTTP statuses).</summary>
public enum DecodeProblem { Missing, Unreadable, Empty, NotAnImage, Truncated, Corrupt, TooManyPixels }

/// <summary>An image file that cannot be decoded; names the file and the reason.</summary>
public sealed class ImageDecodeException(string path, DecodeProblem kind, string problem)
    : VeracityException($"{path}: {problem}")
{
    public string Path { get; } = path;
    public DecodeProblem Kind { get; } = kind;
    public string Problem { get; } = problem;
}

/// <summary>What an image file's header says, read without decoding the pixels.</summary>
public sealed record ImageHeader(int Width, int Height, string Format);

/// <summary>
/// Decodes image files to 8-bit RGB with SkiaSharp: EXIF orientation applied, grey/CMYK/paletted/16-bit/alpha
/// converted, and a pixel limit checked from the header before any pixel is decoded (decompression bombs).
/// When a smaller size is wanted, JPEGs are decoded straight at a reduced scale, which is about twice as fast
/// as decoding in full and resizing. With a <see cref="Reencoding"/>, every picture is decoded in full, put through
/// it, and the result decoded as asked.
/// </summary>
public sealed class ImageDecoder(long maxPixels = ImageDecoder.DefaultMaxPixels, Reencoding? reencode = null)
{
    public const long DefaultMaxPixels = 100_000_000;

    public long MaxPixels { get; } = maxPixels;

    public Reencoding? Reencode { get; } = reencode;

    public ImageHeader ReadHeader(string path) => ReadHeader(ReadFile(path), path);

    /// <summary>The header of an image held in memory; <paramref name="name"/> names it in errors.</summary>
    public ImageHeader ReadHeader(byte[] bytes, string name)
    {
        using var image = Open(bytes, name);
        var (width, height) = OrientedSize(image.Codec);
        return new ImageHeader(width, height, image.Codec.EncodedFormat.ToString().ToUpperInvariant());
    }

    /// <summary>Decodes the image at its own size.</summary>
    public RgbImage Decode(string path) => Decode(ReadFile(path), path, null);

    /// <summary>Decodes the image resized (stretched, like the reference's Resize((h, w))) to width × height.</summary>
    public RgbImage Decode(string path, int width, int height) => Decode(ReadFile(path), path, (width, height));

    /// <summary>
    /// Decodes an image held in memory (an upload), at its own size or resized to <paramref name="target"/>. The
    /// format comes from the bytes, never from a name; <paramref name="name"/> only names the image in errors.
    /// </summary>
    public RgbImage Decode(byte[] bytes, string name, (int Width, int Height)? target = null) =>
        Reencode is null ? DecodeAsIs(bytes, name, target) : DecodeAsIs(Reencode.Encode(DecodeAsIs(bytes, name, null)), name, target);

    RgbImage DecodeAsIs(byte[] bytes, string name, (int Width, int Height)? target)
    {
        using var image = Open(bytes, name);
        var codec = image.Codec;
        var origin = codec.EncodedOrigin;
        bool swapsAxes = SwapsAxes(origin);

        // The size to decode at, in the file's own (unrotated) orientation.
        var decodeSize = new SKSizeI(codec.Info.Width, codec.Info.Height);
        if (target is var (tw, th))
        {
            var (sw, sh) = swapsAxes ? (th, tw) : (tw, th);
            float scale = Math.Max((float)sw / codec.Info.Width, (float)sh / codec.Info.Height);
            if (scale < 1)
            {
                var scaled = codec.GetScaledDimensions(scale);
                if (scaled.Width >= sw && scaled.Height >= sh) decodeSize = scaled;
            }
        }

        var info = new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var decoded = new SKBitmap(info);
        var result = codec.GetPixels(info, decoded.GetPixels());
        if (result != SKCodecResult.Success)
            throw result == SKCodecResult.IncompleteInput
                ? new ImageDecodeException(name, DecodeProblem.Truncated, "image data is truncated")
                : new ImageDecodeException(name, DecodeProblem.Corrupt, $"image data is corrupt ({result})");

        using var rotated = origin == SKEncodedOrigin.TopLeft ? null : Orient(decoded, origin);
        var oriented = rotated ?? decoded;
        var (outWidth, outHeight) = target ?? (oriented.Width, oriented.Height);
        if (oriented.Width == outWidth && oriented.Height == outHeight)
            return SkiaPixels.ToRgb(oriented);
        using var resized = oriented.Resize(new SKImageInfo(outWidth, outHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        if (resized is null) throw new ImageDecodeException(name, DecodeProblem.Corrupt, $"could not resize to {outWidth}x{outHeight}");
        return SkiaPixels.ToRgb(resized);
    }

    /// <summary>Skia's codec over the file's bytes; the data must live as long as the codec.</summary>
    sealed class OpenImage(SKData data, SKCodec codec) : IDisposable
    {
        public SKCodec Codec { get; } = codec;

        public void Dispose()
        {
            Codec.Dispose();
            data.Dispose();
        }
    }

    /// <summary>A file's bytes, its absence or unreadability told as an <see cref="ImageDecodeException"/>.</summary>
    public static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageDecodeException(path, DecodeProblem.Missing, "file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(path, DecodeProblem.Unreadable, $"file cannot be read ({e.Message})");
        }
    }

    OpenImage Open(byte[] bytes, string path)
    {
        if (bytes.Length == 0) throw new ImageDecodeException(path, DecodeProblem.Empty, "file is empty (0 bytes)");

        var data = SKData.CreateCopy(bytes);
        var codec = SKCodec.Create(data);
        if (codec is null)
        {
            data.Dispose();
            throw KnownSignature(bytes) is { } format
                ? new ImageDecodeException(path, DecodeProblem.Truncated, $"{format} header is truncated or corrupt")
                : new ImageDecodeException(path, DecodeProblem.NotAnImage, "not a supported image (unrecognised file signature)");
        }
        var image = new OpenImage(data, codec);
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        long pixels = (long)width * height;
        var problem = width <= 0 || height <= 0 ? (DecodeProblem.Corrupt, "image has no pixels")
            : pixels > MaxPixels ? (DecodeProblem.TooManyPixels, $"image is {width}x{height} = {pixels:N0} pixels, above the limit of {MaxPixels:N0}")
            : ((DecodeProblem, string)?)null;
        if (problem is var (kind, text))
        {
            image.Dispose();
            throw new ImageDecodeException(path, kind, text);
        }
        return image;
    }

    /// <summary>The format a file claims by its first bytes, so a cut-off image is told apart from a non-image.</summary>
    static string? KnownSignature(ReadOnlySpan<byte> bytes) =>
        bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) ? "JPEG"
        : bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']) ? "PNG"
        : bytes.StartsWith("GIF8"u8) ? "GIF"
        : bytes.StartsWith("BM"u8) ? "BMP"
        : bytes.Length >= 12 && bytes.StartsWith("RIFF"u8) && bytes[8..12].SequenceEqual("WEBP"u8) ? "WEBP"
        : null;

    /// <summary>Orientations 5–8 turn the picture by 90°, so upright width is the stored height.</summary>
    static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    static (int Width, int Height) OrientedSize(SKCodec codec) =>
        SwapsAxes(codec.EncodedOrigin) ? (codec.Info.Height, codec.Info.Width) : (codec.Info.Width, codec.Info.Height);

    /// <summary>A new upright bitmap for a non-default EXIF orientation (the caller disposes it).</summary>
    static SKBitmap Orient(SKBitmap source, SKEncodedOrigin origin)
    {
        bool swap = SwapsAxes(origin);
        int w = swap ? source.Height : source.Width, h = swap ? source.Width : source.Height;
        var result = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(result);
        canvas.SetMatrix(OriginMatrix(origin, source.Width, source.Height));
        using var paint = new SKPaint { BlendMode = SKBlendMode.Src };
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), paint);
        return result;
    }

    /// <summary>The matrix mapping stored pixels to upright pixels for each EXIF orientation.</summary>
    static SKMatrix OriginMatrix(SKEncodedOrigin origin, int w, int h) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
        _ => SKMatrix.Identity,
    };
}
