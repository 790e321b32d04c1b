using TorchSharp;
using Veracity.Checkpoints;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Training;

/// <summary>
/// An exponential moving average of a model's weights (batch-norm statistics are copied as they are), kept in a
/// second model of the same backbone. The decay ramps up as (1 + step) / (10 + step) towards
/// <see cref="TrainConfig.EmaDecay"/>, so the average does not cling to the starting weights on short runs; it is a
/// pure function of the step, so a resumed run keeps the same average.
/// </summary>
public sealed class WeightAverage : IDisposable
{
    public nn.Module<Tensor, Tensor> Model { get; }
    readonly double _decay;

    WeightAverage(nn.Module<Tensor, Tensor> model, double decay)
    {
        Model = model;
        _decay = decay;
        Model.eval();
    }

    /// <summary>An empty average for <paramref name="config"/>'s backbone, to be filled by <see cref="CopyFrom"/> or a checkpoint.</summary>
    public static WeightAverage For(TrainConfig config)
    {
        var model = Backbones.Create(config.Model, pretrained: false, input: config.Input, freeze: config.Freeze);
        if (model is ResNet resnet) resnet.BFloat16 = config.Precision == Precision.BFloat16;
        return new WeightAverage(model, config.EmaDecay);
    }

    public void CopyFrom(nn.Module<Tensor, Tensor> model)
    {
        using var _ = no_grad();
        foreach (var (average, current) in Pairs(model)) average.copy_(current);
    }

    /// <summary>Folds the weights after optimiser step <paramref name="step"/> (counted from 0 over the whole run) into the average.</summary>
    public void Update(nn.Module<Tensor, Tensor> model, long step)
    {
        double decay = Math.Min(_decay, (1.0 + step) / (10.0 + step));
        using var _ = no_grad();
        using Scalar keep = decay.ToScalar(), take = (1 - decay).ToScalar();
        foreach (var (average, current) in Model.parameters().Zip(model.parameters()))
            average.mul_(keep).add_(current, take);
        foreach (var (average, current) in Model.buffers().Zip(model.buffers()))
            average.copy_(current);
    }

    IEnumerable<(Tensor Average, Tensor Current)> Pairs(nn.Module<Tensor, Tensor> model) =>
        Model.parameters().Zip(model.parameters()).Select(p => ((Tensor)p.First, (Tensor)p.Second))
            .Concat(Model.buffers().Zip(model.buffers()));

    public void Dispose() => Model.Dispose();
}
