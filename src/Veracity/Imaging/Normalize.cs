namespace Veracity.Imaging;

public enum ChannelOrder { Rgb, Bgr }

/// <summary>
/// Turns 8-bit pixels into the CHW floats a backbone's weights expect: <c>(pixel × Scale − Mean[c]) / Std[c]</c>,
/// channels in <see cref="Order"/>. Mean and Std are listed in that channel order.
/// </summary>
public sealed record Normalize(ChannelOrder Order, float Scale, float[] Mean, float[] Std)
{
    /// <summary>torchvision/timm ImageNet weights: RGB in [0, 1], mean/std normalised.</summary>
    public static Normalize ImageNet { get; } =
        new(ChannelOrder.Rgb, 1f / 255, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>The CNTK ResNet weights: BGR in [0, 255] minus channel means, no std division.</summary>
    public static Normalize CntkBgr { get; } =
        new(ChannelOrder.Bgr, 1f, [103.06f, 115.90f, 123.15f], [1f, 1f, 1f]);

    /// <summary>Equal when every field and every mean and std value is (a record alone would compare the arrays by reference).</summary>
    public bool Equals(Normalize? other) =>
        other is not null && Order == other.Order && Scale == other.Scale && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    public override int GetHashCode() => HashCode.Combine(Order, Scale, Mean.Sum(), Std.Sum());

    /// <summary>Writes the image as C×H×W floats into <paramref name="chw"/> (length 3 × W × H).</summary>
    public void WriteChw(RgbImage image, Span<float> chw)
    {
        int plane = image.Width * image.Height;
        if (chw.Length != 3 * plane) throw new ArgumentException($"need {3 * plane} floats, got {chw.Length}");
        var pixels = image.Pixels;
        for (int c = 0; c < 3; c++)
        {
            int source = Order == ChannelOrder.Rgb ? c : 2 - c;
            float scale = Scale / Std[c], offset = Mean[c] / Std[c];
            var output = chw.Slice(c * plane, plane);
            for (int i = 0, p = source; i < plane; i++, p += 3)
                output[i] = pixels[p] * scale - offset;
        }
    }
}
