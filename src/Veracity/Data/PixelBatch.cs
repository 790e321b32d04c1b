using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Veracity.Data;

/// <summary>
/// Normalised pictures as plain floats, <see cref="Count"/>×3×<see cref="Height"/>×<see cref="Width"/> row-major from
/// the start of <see cref="Pixels"/> (which may be longer: a pooled array). The ONNX engine reads it as it is, so
/// predicting and serving on ONNX Runtime never load libtorch (357 MiB of the container image); the TorchSharp
/// engines copy it into a tensor (<see cref="ToTensor"/>).
/// </summary>
public sealed record PixelBatch(float[] Pixels, int Count, int Height, int Width)
{
    public int FloatsPerImage => 3 * Height * Width;
    public long[] Shape => [Count, 3, Height, Width];
    public Memory<float> Data => Pixels.AsMemory(0, Count * FloatsPerImage);

    /// <summary>Copies the batch into a new float32 tensor (one copy straight into its memory); the caller disposes it.</summary>
    public Tensor ToTensor()
    {
        var images = empty(Count, 3, Height, Width);
        MemoryMarshal.AsBytes(Data.Span).CopyTo(images.bytes);
        return images;
    }

    /// <summary>A copy of an N×3×H×W float32 tensor's values.</summary>
    public static PixelBatch Of(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"a pixel batch is N×3×H×W, not [{string.Join(", ", images.shape)}]", nameof(images));
        using var values = images.to(ScalarType.Float32).contiguous();
        return new PixelBatch(values.data<float>().ToArray(), (int)images.shape[0], (int)images.shape[2], (int)images.shape[3]);
    }
}
