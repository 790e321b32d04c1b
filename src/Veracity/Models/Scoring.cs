using Veracity.Data;
using static TorchSharp.torch;

namespace Veracity.Models;

/// <summary>
/// From a network's 2-class logits to deepfake probabilities, with test-time augmentation: what validation during
/// training and every inference engine compute alike.
/// </summary>
public static class Scoring
{
    /// <summary>The distinct test-time views there are: the picture and its horizontal, vertical and double flips.</summary>
    public const int MaxViews = 4;

    /// <summary>Scores with a TorchSharp network directly (validation during training).</summary>
    public static float[] FakeProbabilities(nn.Module<Tensor, Tensor> model, Tensor images, int tta = 1) =>
        FakeProbabilities(model.call, images, tta);

    /// <summary>
    /// The deepfake probability (softmax of class 1) of each image, averaged over <paramref name="tta"/> views:
    /// the plain image first, then horizontal, vertical and both flips. More than <see cref="MaxViews"/> is refused:
    /// a fifth view would repeat the first and weigh it twice in the mean. With a <paramref name="window"/>
    /// smaller than the images, each S×S window of a grid with stride S/4 (the last flush with the far edge) is
    /// scored so, and an image's score is its most suspicious window's: what a model trained on windows (--crop S)
    /// saw, and the local evidence a whole-picture average would dilute. (Their mean would be close to the whole
    /// picture's score, whose global average pooling already covers every window.)
    /// </summary>
    public static float[] FakeProbabilities(Func<Tensor, Tensor> logits, Tensor images, int tta, int window = 0)
    {
        long height = images.shape[2], width = images.shape[3];
        Check(tta, window, height, width);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor Views(Tensor picture) =>
            stack(Enumerable.Range(0, tta).Select(pass => nn.functional.softmax(logits(View(picture, pass)), 1)[.., 1]).ToArray()).mean([0]);
        if (window == 0 || (window == height && window == width))
            return Views(images).to(ScalarType.Float32).data<float>().ToArray();
        var windows = (from top in Origins(height, window) from left in Origins(width, window)
                       select Views(images[.., .., TensorIndex.Slice(top, top + window), TensorIndex.Slice(left, left + window)])).ToArray();
        return stack(windows).amax([0]).to(ScalarType.Float32).data<float>().ToArray();
    }

    /// <summary>
    /// <see cref="FakeProbabilities(Func{Tensor, Tensor}, Tensor, int, int)"/> on plain floats, for a network that
    /// takes pictures of its own size only (ONNX Runtime): the same views in the same order, the softmax of class 1
    /// as 1 / (1 + e^(l0 - l1)), averaged; no libtorch call. <paramref name="logits"/> gives N×2 logits, row-major.
    /// A <paramref name="window"/> may only cover the whole picture.
    /// </summary>
    public static float[] FakeProbabilities(Func<PixelBatch, float[]> logits, PixelBatch images, int tta, int window = 0)
    {
        Check(tta, window, images.Height, images.Width);
        if (window > 0 && window < Math.Max(images.Height, images.Width))
            throw new ArgumentException($"windows of {window} px need the tensor form of {nameof(FakeProbabilities)}", nameof(window));
        var sums = new double[images.Count];
        // One buffer for every flipped view (the network has read each before the next is written): 25 MB a view
        // at 256 px and batch 32.
        var flipped = tta > 1 ? images with { Pixels = new float[images.Count * images.FloatsPerImage] } : null;
        for (int pass = 0; pass < tta; pass++)
        {
            float[] pairs = logits(pass == 0 ? images : Flip(images, Flips(pass), flipped!));
            for (int i = 0; i < sums.Length; i++) sums[i] += FakeProbability(pairs[2 * i], pairs[2 * i + 1]);
        }
        return sums.Select(sum => (float)(sum / tta)).ToArray();
    }

    /// <summary>The softmax of class 1 over one picture's two logits, 1 / (1 + e^(real - fake)).</summary>
    public static double FakeProbability(float realLogit, float fakeLogit) => 1 / (1 + Math.Exp((double)realLogit - fakeLogit));

    static void Check(int tta, int window, long height, long width)
    {
        if (tta is < 1 or > MaxViews)
            throw new VeracityException($"test-time augmentation takes 1 to {MaxViews} views ({MaxViews} distinct views: the picture and its " +
                                        $"horizontal, vertical and double flips), not {tta}");
        if (window < 0 || window > Math.Min(height, width))
            throw new VeracityException($"a scoring window of {window} px does not fit {width}×{height} px images");
    }

    /// <summary>Where windows of <paramref name="window"/> px start along a side: every S/4, the last flush with the end.</summary>
    public static IReadOnlyList<long> Origins(long side, int window)
    {
        long stride = Math.Max(1, window / 4);
        var origins = new List<long>();
        for (long at = 0; at + window < side; at += stride) origins.Add(at);
        origins.Add(side - window);
        return origins;
    }

    /// <summary>The flips of view <paramref name="pass"/>: none, horizontal, vertical, both.</summary>
    static (bool Horizontal, bool Vertical) Flips(int pass) => (pass % 2 == 1, pass >= 2);

    static Tensor View(Tensor images, int pass) => Flips(pass) switch
    {
        (false, false) => images,
        (true, false) => images.flip(3),
        (false, true) => images.flip(2),
        _ => images.flip(2, 3),
    };

    /// <summary>Writes <paramref name="images"/> flipped as <paramref name="flips"/> say into <paramref name="into"/> (same shape).</summary>
    static PixelBatch Flip(PixelBatch images, (bool Horizontal, bool Vertical) flips, PixelBatch into)
    {
        int height = images.Height, width = images.Width, planes = images.Count * 3;
        float[] source = images.Pixels, flipped = into.Pixels;
        for (int plane = 0; plane < planes; plane++)
            for (int y = 0; y < height; y++)
            {
                int from = (plane * height + (flips.Vertical ? height - 1 - y : y)) * width, to = (plane * height + y) * width;
                source.AsSpan(from, width).CopyTo(flipped.AsSpan(to, width));
                if (flips.Horizontal) flipped.AsSpan(to, width).Reverse();
            }
        return into;
    }
}
