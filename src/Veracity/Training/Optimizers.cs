using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Training;

/// <summary>
/// Adam, AdamW and SGD with momentum: TorchSharp's optimisers with their step() rewritten so that every number
/// passed to libtorch outlives its call (see <see cref="Scalars"/>; TorchSharp's own step() passes temporaries).
/// The state, parameter groups and save/load_state_dict stay TorchSharp's, so checkpoints are unchanged.
/// amsgrad, maximize, dampening and nesterov are left out: Veracity never sets them.
/// </summary>
public static class Optimizers
{
    /// <summary>
    /// An optimiser over <paramref name="groups"/> of parameters (each its own learning rate, set per step by the
    /// trainer), with the other options alike.
    /// </summary>
    public static OptimizerHelper Create(OptimizerKind kind, IReadOnlyList<IEnumerable<Parameter>> groups, double lr, double weightDecay)
    {
        if (groups.Count == 0) throw new ArgumentException("an optimiser needs at least one group of parameters", nameof(groups));
        OptimizerHelper optimizer = kind switch
        {
            OptimizerKind.Adam => new Adam(groups[0], lr, weightDecay),
            OptimizerKind.AdamW => new AdamW(groups[0], lr, weightDecay),
            OptimizerKind.Sgd => new Sgd(groups[0], lr, weightDecay),
            _ => throw new InvalidSettingException(nameof(TrainConfig.Optimizer), $"'{kind}' is unknown"),
        };
        // Options left unset here are filled in from the optimiser's own (weight decay, betas, momentum).
        foreach (var parameters in groups.Skip(1))
            optimizer.add_param_group(kind switch
            {
                OptimizerKind.Adam => new TorchSharp.Modules.Adam.ParamGroup(parameters, new TorchSharp.Modules.Adam.Options { LearningRate = lr }),
                OptimizerKind.AdamW =>
                    new TorchSharp.Modules.AdamW.ParamGroup(parameters, new TorchSharp.Modules.AdamW.Options { LearningRate = lr }),
                _ => new TorchSharp.Modules.SGD.ParamGroup(parameters, new TorchSharp.Modules.SGD.Options { LearningRate = lr }),
            });
        return optimizer;
    }

    /// <summary>Adam with L2 weight decay added to the gradient (PyTorch's Adam).</summary>
    sealed class Adam(IEnumerable<Parameter> parameters, double lr, double weightDecay)
        : TorchSharp.Modules.Adam(parameters, lr, weight_decay: weightDecay)
    {
        public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
        {
            var options = (Options)group.Options;
            using Scalar decay = options.weight_decay!.Value.ToScalar();
            foreach (var param in group.Parameters)
            {
                if (param.grad is not { } grad) continue;
                var state = (State)_state[param.Handle];
                if (options.weight_decay != 0) grad = grad.add(param, decay);
                AdamUpdate(param, grad, state.exp_avg, state.exp_avg_sq, ++state.step, options.LearningRate!.Value,
                    options.beta1!.Value, options.beta2!.Value, options.eps!.Value);
            }
        }, closure);
    }

    /// <summary>Adam with decoupled weight decay: the weights shrink by lr·decay before the Adam update.</summary>
    sealed class AdamW(IEnumerable<Parameter> parameters, double lr, double weightDecay)
        : TorchSharp.Modules.AdamW(parameters, lr, weight_decay: weightDecay)
    {
        public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
        {
            var options = (Options)group.Options;
            double lr = options.LearningRate!.Value;
            using Scalar shrink = (1 - lr * options.weight_decay!.Value).ToScalar();
            foreach (var param in group.Parameters)
            {
                if (param.grad is not { } grad) continue;
                var state = (State)_state[param.Handle];
                param.mul_(shrink);
                AdamUpdate(param, grad, state.exp_avg, state.exp_avg_sq, ++state.step, lr,
                    options.beta1!.Value, options.beta2!.Value, options.eps!.Value);
            }
        }, closure);
    }

    /// <summary>SGD with momentum 0.9 and L2 weight decay added to the gradient.</summary>
    sealed class Sgd(IEnumerable<Parameter> parameters, double lr, double weightDecay)
        : TorchSharp.Modules.SGD(parameters, lr, momentum: 0.9, weight_decay: weightDecay)
    {
        public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
        {
            var options = group.Options;
            using Scalar decay = options.weight_decay!.Value.ToScalar(), momentum = options.momentum!.Value.ToScalar(),
                descent = (-options.LearningRate!.Value).ToScalar();
            foreach (var param in group.Parameters)
            {
                if (param.grad is not { } grad) continue;
                var state = (State)_state[param.Handle];
                if (options.weight_decay != 0) grad = grad.add(param, decay);
                if (state.momentum_buffer is null)
                    state.momentum_buffer = grad.detach().clone().DetachFromDisposeScope();
                else
                    state.momentum_buffer.mul_(momentum).add_(grad, Scalars.One);
                param.add_(state.momentum_buffer, descent);
            }
        }, closure);
    }

    /// <summary>One Adam update of <paramref name="param"/> from its gradient and moment estimates, with bias correction.</summary>
    static void AdamUpdate(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, long step, double lr,
        double beta1, double beta2, double eps)
    {
        using Scalar keep1 = beta1.ToScalar(), take1 = (1 - beta1).ToScalar(), keep2 = beta2.ToScalar(), take2 = (1 - beta2).ToScalar(),
            epsilon = eps.ToScalar();
        using Scalar correction2 = Math.Sqrt(1 - Math.Pow(beta2, step)).ToScalar(), stepSize = (-lr / (1 - Math.Pow(beta1, step))).ToScalar();
        expAvg.mul_(keep1).add_(grad, take1);
        expAvgSq.mul_(keep2).addcmul_(grad, grad, take2);
        using var denominator = expAvgSq.sqrt().div_(correction2).add_(epsilon, Scalars.One);
        param.addcdiv_(expAvg, denominator, stepSize);
    }
}
