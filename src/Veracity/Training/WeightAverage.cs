using TorchSharp;
using Veracity.Checkpoints;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Training;

/// <summary>
/// A running average of a model's weights and batch-norm statistics, kept in a second model of the same backbone.
/// Either exponential per step (<see cref="TrainConfig.EmaDecay"/>: the decay ramps up as (1 + step) / (10 + step),
/// so the average does not cling to the starting weights on short runs) or uniform over the ends of the last epochs
/// (<see cref="TrainConfig.AverageEpochs"/>, checkpoint averaging). Both are pure functions of the step or epoch, so a
/// resumed run keeps the same average.
/// </summary>
public sealed class WeightAverage : IDisposable
{
    public nn.Module<Tensor, Tensor> Model { get; }
    readonly double _decay;
    readonly int _firstEpoch;

    WeightAverage(nn.Module<Tensor, Tensor> model, double decay, int firstEpoch)
    {
        Model = model;
        _decay = decay;
        _firstEpoch = firstEpoch;
        Model.eval();
    }

    /// <summary>The average <paramref name="config"/> asks for, or null.</summary>
    public static WeightAverage? Of(TrainConfig config) => config.EmaDecay > 0 || config.AverageEpochs > 0 ? For(config) : null;

    /// <summary>An empty average for <paramref name="config"/>'s backbone, to be filled by <see cref="CopyFrom"/> or a checkpoint.</summary>
    public static WeightAverage For(TrainConfig config)
    {
        var model = Backbones.Create(config.Model, pretrained: false, input: config.Input, freeze: config.Freeze);
        if (model is ResNet resnet) resnet.BFloat16 = config.Precision == Precision.BFloat16;
        return new WeightAverage(model, config.EmaDecay, config.AverageEpochs > 0 ? config.Epochs - config.AverageEpochs : int.MaxValue);
    }

    public void CopyFrom(nn.Module<Tensor, Tensor> model)
    {
        using var _ = no_grad();
        foreach (var (average, current) in Pairs(model)) average.copy_(current);
    }

    /// <summary>Whether the average holds anything to validate at the end of <paramref name="epoch"/>.</summary>
    public bool HasStarted(int epoch) => _decay > 0 || epoch >= _firstEpoch;

    /// <summary>
    /// Folds the weights after optimiser step <paramref name="step"/> (counted from 0 over the whole run) into the
    /// exponential average.
    /// </summary>
    public void Update(nn.Module<Tensor, Tensor> model, long step)
    {
        if (_decay > 0) Fold(model, Math.Min(_decay, (1.0 + step) / (10.0 + step)));
    }

    /// <summary>Folds the weights at the end of <paramref name="epoch"/> into the uniform average of the last epochs.</summary>
    public void EndEpoch(nn.Module<Tensor, Tensor> model, int epoch)
    {
        if (epoch < _firstEpoch) return;
        int count = epoch - _firstEpoch + 1; // this epoch is the count-th averaged: keep (count − 1)/count of the mean
        Fold(model, (count - 1.0) / count);
    }

    void Fold(nn.Module<Tensor, Tensor> model, double decay)
    {
        using var _ = no_grad();
        using Scalar keep = decay.ToScalar(), take = (1 - decay).ToScalar();
        // The batch-norm statistics are averaged like the weights: the live model's describe the live weights'
        // activations, not the average's. Recomputing the average's own (SWA's way) would take a pass over the
        // training batches before every validation, about a third of an epoch's time again (a pass without backward
        // runs at about three times training's speed); averaging them costs nothing and is what timm's model EMA does.
        // The batch count is an integer, not a statistic: the live model's.
        foreach (var (average, current) in Pairs(model))
        {
            if (average.is_floating_point()) average.mul_(keep).add_(current, take);
            else average.copy_(current);
        }
    }

    IEnumerable<(Tensor Average, Tensor Current)> Pairs(nn.Module<Tensor, Tensor> model) =>
        Model.parameters().Zip(model.parameters()).Select(p => ((Tensor)p.First, (Tensor)p.Second))
            .Concat(Model.buffers().Zip(model.buffers()));

    public void Dispose() => Model.Dispose();
}
