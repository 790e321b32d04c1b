using Veracity.Data;
using Veracity.Training;
using static TorchSharp.torch;

namespace Veracity.Inference;

/// <summary>A trained model ready to score images: its network, its preprocessing and its decision threshold.</summary>
public sealed class Detector(CheckpointInfo info, nn.Module<Tensor, Tensor> model) : IDisposable
{
    public CheckpointInfo Info { get; } = info;
    public nn.Module<Tensor, Tensor> Model { get; } = model;

    public static Detector Load(string checkpoint)
    {
        var (info, model) = Checkpoint.Load(checkpoint);
        model.eval();
        return new Detector(info, model);
    }

    public SampleTransform Transform => SampleTransform.Evaluation(Info.ImageSize, Info.ImageSize, Info.Normalize);

    public float[] Score(Tensor images, int tta = 1) => Score(Model, images, tta);

    /// <summary>
    /// The deepfake probability (softmax of class 1) of each image, averaged over <paramref name="tta"/> views:
    /// the plain image first, then horizontal, vertical and both flips, repeating.
    /// </summary>
    public static float[] Score(nn.Module<Tensor, Tensor> model, Tensor images, int tta = 1)
    {
        if (tta < 1) throw new VeracityException("--tta must be at least 1");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor sum = zeros(images.shape[0]);
        for (int pass = 0; pass < tta; pass++)
            sum += nn.functional.softmax(model.call(View(images, pass)), 1)[.., 1];
        return (sum / tta).data<float>().ToArray();
    }

    static Tensor View(Tensor images, int pass) => (pass % 4) switch
    {
        0 => images,
        1 => images.flip(3),
        2 => images.flip(2),
        _ => images.flip(2, 3),
    };

    public void Dispose() => Model.Dispose();
}
