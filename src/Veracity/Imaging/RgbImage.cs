namespace Veracity.Imaging;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved R,G,B.</summary>
public sealed class RgbImage(int width, int height, byte[] pixels)
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public byte[] Pixels { get; } = pixels.Length == width * height * 3
        ? pixels
        : throw new ArgumentException($"expected {width * height * 3} bytes for {width}x{height} RGB, got {pixels.Length}");

    public RgbImage(int width, int height) : this(width, height, new byte[width * height * 3]) { }

    /// <summary>A copy of the <paramref name="width"/> × <paramref name="height"/> window whose top-left pixel is (x, y), pixel for pixel.</summary>
    public RgbImage Window(int x, int y, int width, int height)
    {
        if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > Width || y + height > Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"window {width}x{height} at ({x}, {y}) is not inside {Width}x{Height}");
        var window = new RgbImage(width, height);
        for (int row = 0; row < height; row++)
            Pixels.AsSpan(((y + row) * Width + x) * 3, width * 3).CopyTo(window.Pixels.AsSpan(row * width * 3));
        return window;
    }
}
