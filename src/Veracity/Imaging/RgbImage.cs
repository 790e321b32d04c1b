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
}
