using Veracity.Checkpoints;
using Veracity.Training;
using static TorchSharp.torch;

namespace Veracity.Tests;

/// <summary>CutMix's label weights and the Beta sampler both mixings draw from.</summary>
public class BatchMixingTests
{
    [Theory]
    [InlineData(13, 17)] // odd sides: the box's half-extents round down
    [InlineData(32, 32)]
    public void Cutmix_weights_the_partner_labels_by_exactly_the_area_pasted_from_them(int height, int width)
    {
        var config = TrainConfig.DefaultPreset with { CutmixAlpha = 1, MixupAlpha = 0 };
        const int n = 8;
        int boxes = 0;
        for (int seed = 0; seed < 100; seed++)
        {
            using var scope = NewDisposeScope();
            // Image i is filled with i and labelled i, so the partner labels name each image's partner.
            var images = arange(n, dtype: ScalarType.Float32).view(n, 1, 1, 1).expand(n, 3, height, width).contiguous();
            var labels = arange(n, dtype: ScalarType.Int64);
            var (mixed, partnerLabels, weight) = BatchMixing.Apply(config, images, labels, new Random(seed));
            long[] partner = partnerLabels!.data<long>().ToArray();
            float[] pixels = mixed.data<float>().ToArray();

            int? pasted = null;
            for (int i = 0; i < n; i++)
            {
                if (partner[i] == i) continue; // pasted onto itself: the box cannot be seen
                var cells = Enumerable.Range(0, 3 * height * width).Select(k => (Channel: k / (height * width), Row: k / width % height,
                    Column: k % width, Value: pixels[i * 3 * height * width + k])).ToList();
                Assert.All(cells, c => Assert.True(c.Value == i || c.Value == partner[i], $"pixel {c.Value} is from neither image"));
                var box = cells.Where(c => c.Value == partner[i] && c.Channel == 0).ToList();
                if (box.Count > 0) // one rectangle, the same in every channel
                    Assert.Equal((box.Max(c => c.Row) - box.Min(c => c.Row) + 1) * (box.Max(c => c.Column) - box.Min(c => c.Column) + 1), box.Count);
                Assert.Equal(3 * box.Count, cells.Count(c => c.Value == partner[i]));
                Assert.True(pasted is null || pasted == box.Count, "every image of a batch gets the same box");
                pasted = box.Count;
            }
            Assert.NotNull(pasted); // a batch of 8 is its own partner throughout 1 time in 8! = 40,320: not with these seeds
            Assert.Equal(1 - (double)pasted.Value / (height * width), weight); // exactly: the partner's share is the area pasted
            if (pasted > 0) boxes++;
        }
        Assert.True(boxes > 50, $"only {boxes} of 100 batches got a box");
    }

    /// <remarks>
    /// Beta(α, α) has mean 1/2, variance σ² = 1/(4(2α + 1)) and kurtosis κ = 3 − 6/(2α + 3). Over n draws the sample
    /// mean's standard error is σ/√n and the sample variance's σ²·√((κ − 1)/n); by the central limit theorem at
    /// 200,000 draws both are normal, so a right sampler lands outside 5 standard errors with probability 6e-7.
    /// Dropping the U^(1/α) boost below α = 1 (Beta(α + 1, α + 1) instead) moves the variance at α = 0.4 by about 360 of them.
    /// </remarks>
    [Theory]
    [InlineData(0.4)] // below 1: Gamma(α + 1) boosted by U^(1/α)
    [InlineData(1.0)] // the generalise preset's CutMix
    [InlineData(2.0)]
    public void The_beta_sampler_has_the_mean_and_variance_of_beta_alpha_alpha(double alpha)
    {
        const int draws = 200_000;
        var rng = new Random(11);
        double[] x = new double[draws];
        for (int i = 0; i < draws; i++) x[i] = BatchMixing.Beta(rng, alpha);
        Assert.All(x, v => Assert.InRange(v, 0.0, 1.0));

        double mean = x.Average(), variance = x.Sum(v => (v - mean) * (v - mean)) / (draws - 1);
        double sigma2 = 1 / (4 * (2 * alpha + 1)), kurtosis = 3 - 6 / (2 * alpha + 3);
        double meanError = Math.Sqrt(sigma2 / draws), varianceError = sigma2 * Math.Sqrt((kurtosis - 1) / draws);
        Assert.InRange(mean, 0.5 - 5 * meanError, 0.5 + 5 * meanError);
        Assert.InRange(variance, sigma2 - 5 * varianceError, sigma2 + 5 * varianceError);
    }
}
