using Veracity.Imaging;

namespace Veracity.Data;

/// <summary>An augmentation applied to a decoded image before normalisation; random choices come from <c>rng</c>.</summary>
public interface IImageTransform
{
    void Apply(RgbImage image, Random rng);
}

/// <summary>Mirrors the image left-right with probability <see cref="P"/>.</summary>
public sealed record RandomHorizontalFlip(double P = 0.5) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        if (rng.NextDouble() >= P) return;
        int stride = image.Width * 3;
        for (int y = 0; y < image.Height; y++)
        {
            var row = image.Pixels.AsSpan(y * stride, stride);
            for (int left = 0, right = stride - 3; left < right; left += 3, right -= 3)
                for (int c = 0; c < 3; c++)
                    (row[left + c], row[right + c]) = (row[right + c], row[left + c]);
        }
    }
}

/// <summary>Mirrors the image top-bottom with probability <see cref="P"/>.</summary>
public sealed record RandomVerticalFlip(double P = 0.5) : IImageTransform
{
    public void Apply(RgbImage image, Random rng)
    {
        if (rng.NextDouble() >= P) return;
        int stride = image.Width * 3;
        var buffer = new byte[stride];
        for (int top = 0, bottom = image.Height - 1; top < bottom; top++, bottom--)
        {
            var a = image.Pixels.AsSpan(top * stride, stride);
            var b = image.Pixels.AsSpan(bottom * stride, stride);
            a.CopyTo(buffer);
            b.CopyTo(a);
            buffer.CopyTo(b);
        }
    }
}

/// <summary>
/// The whole per-image pipeline: resize (done while decoding) to <see cref="DecodeWidth"/> × <see cref="DecodeHeight"/>,
/// a random <see cref="Width"/> × <see cref="Height"/> window of that when it is larger (cut, never resampled),
/// augmentations in order, normalisation.
/// </summary>
public sealed record SampleTransform(int Width, int Height, IReadOnlyList<IImageTransform> Augmentations, Normalize Normalize)
{
    public static SampleTransform Evaluation(int width, int height, Normalize normalize) => new(width, height, [], normalize);

    public int DecodeWidth { get; init; } = Width;
    public int DecodeHeight { get; init; } = Height;

    public int FloatCount => 3 * Width * Height;

    /// <summary>Decodes <paramref name="path"/>, cuts, augments and normalises it into <paramref name="chw"/>.</summary>
    public void Load(ImageDecoder decoder, string path, Random rng, Span<float> chw)
    {
        var image = decoder.Decode(path, DecodeWidth, DecodeHeight);
        if (DecodeWidth != Width || DecodeHeight != Height)
            image = image.Window(rng.Next(DecodeWidth - Width + 1), rng.Next(DecodeHeight - Height + 1), Width, Height);
        foreach (var augmentation in Augmentations)
            augmentation.Apply(image, rng);
        Normalize.WriteChw(image, chw);
    }
}
