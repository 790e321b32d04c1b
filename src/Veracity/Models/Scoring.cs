using static TorchSharp.torch;

namespace Veracity.Models;

/// <summary>
/// From a network's 2-class logits to deepfake probabilities, with test-time augmentation: what validation during
/// training and every inference engine compute alike.
/// </summary>
public static class Scoring
{
    /// <summary>Scores with a TorchSharp network directly (validation during training).</summary>
    public static float[] FakeProbabilities(nn.Module<Tensor, Tensor> model, Tensor images, int tta = 1) =>
        FakeProbabilities(model.call, images, tta);

    /// <summary>
    /// The deepfake probability (softmax of class 1) of each image, averaged over <paramref name="tta"/> views:
    /// the plain image first, then horizontal, vertical and both flips, repeating.
    /// </summary>
    public static float[] FakeProbabilities(Func<Tensor, Tensor> logits, Tensor images, int tta)
    {
        if (tta < 1) throw new VeracityException($"test-time augmentation needs at least 1 view, not {tta}");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var views = Enumerable.Range(0, tta).Select(pass => nn.functional.softmax(logits(View(images, pass)), 1)[.., 1]).ToArray();
        return stack(views).mean([0]).to(ScalarType.Float32).data<float>().ToArray();
    }

    static Tensor View(Tensor images, int pass) => (pass % 4) switch
    {
        0 => images,
        1 => images.flip(3),
        2 => images.flip(2),
        _ => images.flip(2, 3),
    };
}
