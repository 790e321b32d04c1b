using TorchSharp;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Training;

/// <summary>
/// Mixup and CutMix: blend each batch with a shuffled copy of itself. Randomness comes from a C# Random seeded
/// per (seed, epoch, batch), so a resumed run mixes exactly as the uninterrupted one would.
/// </summary>
public static class BatchMixing
{
    /// <summary>The images to train on, the partner labels (null when not mixing) and the weight of the original labels.</summary>
    public static (Tensor Images, Tensor? PartnerLabels, double Weight) Apply(TrainConfig config, Tensor images, Tensor labels, Random rng)
    {
        bool mixup = config.MixupAlpha > 0, cutmix = config.CutmixAlpha > 0;
        if (!mixup && !cutmix) return (images, null, 1.0);
        bool useCutmix = cutmix && (!mixup || rng.NextDouble() < 0.5);
        double lambda = Beta(rng, useCutmix ? config.CutmixAlpha : config.MixupAlpha);
        long n = images.shape[0];
        var permutation = Enumerable.Range(0, (int)n).Select(i => (long)i).ToArray();
        rng.Shuffle(permutation);
        using var index = tensor(permutation);
        var partner = images.index_select(0, index);
        var partnerLabels = labels.index_select(0, index);
        if (!useCutmix)
            return (Blend(images, partner, lambda), partnerLabels, lambda);

        // CutMix: paste a box of area (1 − λ) from the partner; λ is then the kept area exactly.
        long h = images.shape[2], w = images.shape[3];
        double cut = Math.Sqrt(1 - lambda);
        long bh = (long)(h * cut), bw = (long)(w * cut);
        long cy = rng.NextInt64(h), cx = rng.NextInt64(w);
        long y0 = Math.Clamp(cy - bh / 2, 0, h), y1 = Math.Clamp(cy + bh / 2, 0, h);
        long x0 = Math.Clamp(cx - bw / 2, 0, w), x1 = Math.Clamp(cx + bw / 2, 0, w);
        var mixed = images.clone();
        var rows = TensorIndex.Slice(y0, y1);
        var columns = TensorIndex.Slice(x0, x1);
        mixed[TensorIndex.Colon, TensorIndex.Colon, rows, columns] = partner[TensorIndex.Colon, TensorIndex.Colon, rows, columns];
        return (mixed, partnerLabels, 1 - (double)(y1 - y0) * (x1 - x0) / (h * w));
    }

    /// <summary>weight·a + (1 − weight)·b, for mixing images and their losses.</summary>
    public static Tensor Blend(Tensor a, Tensor b, double weight)
    {
        using Scalar keep = weight.ToScalar(), take = (1 - weight).ToScalar(); // held for the calls (see Scalars)
        return a.mul(keep).add(b, take);
    }

    /// <summary>A Beta(α, α) sample from two Gamma(α) samples.</summary>
    internal static double Beta(Random rng, double alpha)
    {
        double x = Gamma(rng, alpha), y = Gamma(rng, alpha);
        return x / (x + y);
    }

    /// <summary>Marsaglia–Tsang; for α &lt; 1 boosted by U^(1/α).</summary>
    static double Gamma(Random rng, double alpha)
    {
        if (alpha < 1) return Gamma(rng, alpha + 1) * Math.Pow(1 - rng.NextDouble(), 1 / alpha);
        double d = alpha - 1 / 3.0, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = 1 - rng.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}
