using Veracity.Imaging;

namespace Veracity.Tests;

public class ImageDecoderTests : IDisposable
{
    readonly TempDir _dir = new();
    readonly ImageDecoder _decoder = new();
    public void Dispose() => _dir.Dispose();

    static RgbImage Gradient(int width, int height)
    {
        var image = new RgbImage(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 3;
                image.Pixels[p] = (byte)(x * 255 / width);
                image.Pixels[p + 1] = (byte)(y * 255 / height);
                image.Pixels[p + 2] = 128;
            }
        return image;
    }

    string WriteBytes(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static (byte R, byte G, byte B) Pixel(RgbImage image, int x, int y)
    {
        int p = (y * image.Width + x) * 3;
        return (image.Pixels[p], image.Pixels[p + 1], image.Pixels[p + 2]);
    }

    static void Near((byte R, byte G, byte B) expected, (byte R, byte G, byte B) actual, int tolerance = 6)
    {
        Assert.True(Math.Abs(expected.R - actual.R) <= tolerance && Math.Abs(expected.G - actual.G) <= tolerance
            && Math.Abs(expected.B - actual.B) <= tolerance, $"expected about {expected}, got {actual}");
    }

    ImageDecodeException Fails(string path)
    {
        var error = Assert.Throws<ImageDecodeException>(() => _decoder.Decode(path, 32, 32));
        Assert.Equal(path, error.Path);
        Assert.Contains(path, error.Message);
        return error;
    }

    [Fact]
    public void Decodes_a_jpeg_at_its_own_size_and_resized()
    {
        string path = WriteBytes("a.jpg", SkiaPixels.EncodeJpeg(Gradient(64, 48), 95));
        var full = _decoder.Decode(path);
        Assert.Equal((64, 48), (full.Width, full.Height));
        var small = _decoder.Decode(path, 32, 16);
        Assert.Equal((32, 16), (small.Width, small.Height));
        // Red grows left to right and green top to bottom in both.
        Assert.True(Pixel(small, 30, 8).R > Pixel(small, 1, 8).R + 150);
        Assert.True(Pixel(small, 16, 15).G > Pixel(small, 16, 0).G + 150);
    }

    [Fact]
    public void Scaled_jpeg_decode_matches_full_decode_then_resize_closely()
    {
        string path = WriteBytes("big.jpg", SkiaPixels.EncodeJpeg(Gradient(512, 512), 90));
        var scaled = _decoder.Decode(path, 256, 256);
        Assert.Equal((256, 256), (scaled.Width, scaled.Height));
        for (int y = 8; y < 256; y += 40)
            for (int x = 8; x < 256; x += 40)
                Near(((byte)(x * 255 / 256), (byte)(y * 255 / 256), 128), Pixel(scaled, x, y), tolerance: 8);
    }

    [Fact]
    public void Missing_file_is_a_typed_error() => Assert.Contains("not found", Fails(Path.Combine(_dir.Path, "none.jpg")).Problem);

    [Fact]
    public void Zero_byte_file_is_a_typed_error() => Assert.Contains("empty", Fails(WriteBytes("zero.jpg", [])).Problem);

    [Fact]
    public void Text_file_named_jpg_is_a_typed_error() =>
        Assert.Contains("not a supported image (unrecognised file signature)",
            Fails(WriteBytes("text.jpg", "hello, this is not a picture\n"u8.ToArray())).Problem);

    [Fact]
    public void Truncated_jpeg_is_a_typed_error()
    {
        byte[] jpeg = SkiaPixels.EncodeJpeg(Gradient(128, 128), 90);
        Assert.Contains("truncated", Fails(WriteBytes("cut.jpg", jpeg[..(jpeg.Length / 2)])).Problem);
    }

    [Fact]
    public void Truncated_png_is_a_typed_error()
    {
        byte[] png = SkiaPixels.EncodePng(Gradient(128, 128));
        Fails(WriteBytes("cut.png", png[..(png.Length / 2)]));
    }

    [Fact]
    public void Jpeg_with_a_corrupt_body_is_a_typed_error()
    {
        byte[] jpeg = SkiaPixels.EncodeJpeg(Gradient(128, 128), 90);
        // Keep the start-of-image marker, replace everything after it with noise.
        var rng = new Random(1);
        for (int i = 2; i < jpeg.Length; i++) jpeg[i] = (byte)rng.Next(256);
        Fails(WriteBytes("noise.jpg", jpeg));
    }

    [Fact]
    public void Image_above_the_pixel_limit_is_refused_before_decoding()
    {
        string path = WriteBytes("big.png", SkiaPixels.EncodePng(Gradient(40, 30)));
        var error = Assert.Throws<ImageDecodeException>(() => new ImageDecoder(maxPixels: 1000).Decode(path));
        Assert.Contains("1,200 pixels, above the limit of 1,000", error.Message);
        Assert.Equal(ImageDecoder.DefaultMaxPixels, new ImageDecoder().MaxPixels);
    }

    [Theory]
    [InlineData(1, 32, 16)]
    [InlineData(3, 32, 16)]
    [InlineData(6, 16, 32)]
    [InlineData(8, 16, 32)]
    public void Exif_orientation_is_applied(int orientation, int width, int height)
    {
        // Stored 32×16 with red on the left half, blue on the right.
        var image = _decoder.Decode(Fixtures.Path($"orientation-{orientation}.jpg"));
        Assert.Equal((width, height), (image.Width, image.Height));
        (byte, byte, byte) red = (255, 0, 0), blue = (0, 0, 255);
        var (first, last) = orientation switch
        {
            1 => (Pixel(image, 2, 8), Pixel(image, 29, 8)),   // left red, right blue
            3 => (Pixel(image, 29, 8), Pixel(image, 2, 8)),   // rotated 180°: right red
            6 => (Pixel(image, 8, 2), Pixel(image, 8, 29)),   // rotated 90° clockwise: top red
            _ => (Pixel(image, 8, 29), Pixel(image, 8, 2)),   // rotated 90° anticlockwise: bottom red
        };
        Near(red, first, 12);
        Near(blue, last, 12);
        Assert.Equal((width, height), (_decoder.ReadHeader(Fixtures.Path($"orientation-{orientation}.jpg")).Width, height));
    }

    [Theory]
    [InlineData("grey.jpg", 128, 128, 128)]
    [InlineData("grey.png", 200, 200, 200)]
    [InlineData("grey16.png", 128, 128, 128)]
    [InlineData("cmyk-red.jpg", 255, 0, 0)]
    [InlineData("grey-alpha.png", 60, 60, 60)]
    public void Other_colour_models_come_out_as_rgb(string file, byte r, byte g, byte b)
    {
        var image = _decoder.Decode(Fixtures.Path(file));
        Assert.Equal(16 * 16 * 3, image.Pixels.Length);
        Near((r, g, b), Pixel(image, 8, 8), tolerance: 8);
    }

    [Fact]
    public void Paletted_and_alpha_pngs_come_out_as_rgb()
    {
        var palette = _decoder.Decode(Fixtures.Path("palette.png"));
        Near((255, 0, 0), Pixel(palette, 2, 2), 0);
        Near((0, 0, 255), Pixel(palette, 13, 2), 0);

        // Alpha is dropped, keeping the stored colour, as Pillow's convert("RGB") does.
        var alpha = _decoder.Decode(Fixtures.Path("alpha.png"));
        Near((255, 255, 0), Pixel(alpha, 2, 2), 0);
        Near((0, 128, 255), Pixel(alpha, 13, 2), 0);
    }

    [Fact]
    public void Header_gives_size_and_format_without_decoding()
    {
        var header = _decoder.ReadHeader(WriteBytes("h.png", SkiaPixels.EncodePng(Gradient(40, 30))));
        Assert.Equal(new ImageHeader(40, 30, "PNG"), header);
    }
}

public class ImageDecoderFuzzTests
{
    /// <summary>Randomly damaged files either decode or raise ImageDecodeException: never a crash or another exception.</summary>
    [Theory]
    [InlineData("jpg")]
    [InlineData("png")]
    public void Damaged_files_never_crash(string format)
    {
        using var dir = new TempDir();
        var image = Synth.SceneRenderer.Render(48, new Random(1));
        byte[] original = format == "jpg" ? SkiaPixels.EncodeJpeg(image, 90) : SkiaPixels.EncodePng(image);
        var rng = new Random(2);
        var decoder = new ImageDecoder();
        for (int trial = 0; trial < 150; trial++)
        {
            byte[] damaged = (byte[])original.Clone();
            int edits = rng.Next(1, 20);
            for (int e = 0; e < edits; e++) damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            if (trial % 3 == 0) damaged = damaged[..rng.Next(1, damaged.Length)];
            string path = dir.File($"t{trial}.{format}");
            File.WriteAllBytes(path, damaged);
            try
            {
                var decoded = decoder.Decode(path, 32, 32);
                Assert.Equal(32 * 32 * 3, decoded.Pixels.Length);
            }
            catch (ImageDecodeException) { }
        }
    }
}
