using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using Veracity.Inference;
using Veracity.Models;
using Veracity.Training;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Tests;

/// <summary>Runs alone: its collecting thread would expose the implicit Scalars other tests create (see Scalars).</summary>
[CollectionDefinition(nameof(ScalarLifetimeTests), DisableParallelization = true)]
public class ScalarLifetimeCollection;

[Collection(nameof(ScalarLifetimeTests))]
public class ScalarLifetimeTests
{
    [Theory]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.AdamW)]
    [InlineData(OptimizerKind.Sgd)]
    public void Optimizers_update_weights_exactly_as_TorchSharps_own(OptimizerKind name)
    {
        using var ours = TinyNetwork();
        using var theirs = TinyNetwork();
        using var initial = TinyNetwork();
        using var ourOptimizer = Optimizers.Create(name, [ours.parameters()], 0.01, 0.05);
        using OptimizerHelper theirOptimizer = name switch
        {
            OptimizerKind.Adam => optim.Adam(theirs.parameters(), 0.01, weight_decay: 0.05),
            OptimizerKind.AdamW => optim.AdamW(theirs.parameters(), 0.01, weight_decay: 0.05),
            _ => optim.SGD(theirs.parameters(), 0.01, momentum: 0.9, weight_decay: 0.05),
        };
        using var inputs = TorchRandom.Seeded(3, () => randn(16, 8));
        using var labels = TorchRandom.Seeded(4, () => randint(0, 2, [16], dtype: ScalarType.Int64));
        for (int step = 0; step < 5; step++)
        {
            Train(ours, ourOptimizer, inputs, labels);
            Train(theirs, theirOptimizer, inputs, labels);
        }

        var pairs = ours.parameters().Zip(theirs.parameters()).ToList();
        Assert.Equal(4, pairs.Count);
        foreach (var (a, b) in pairs)
        {
            using var difference = (a - b).abs().max();
            Assert.InRange(difference.item<float>(), 0f, 1e-6f);
        }
        using var moved = (ours.parameters().First() - initial.parameters().First()).abs().max();
        Assert.True(moved.item<float>() > 1e-3f, "the weights did not move at all");
    }

    /// <summary>
    /// TorchSharp's own Adam failed this within 11–28 steps (alpha freed mid-call: "Expected false to be true");
    /// so did a bfloat16 prediction over 50k images before ResNet and Detector held their Scalars. The collector
    /// collects the youngest generation only, where a Scalar made during a call lives: full collections scaled with
    /// the whole suite's heap (152 s in the suite on Zen 5), and TorchSharp's Adam still fails within 15 s this way.
    /// </summary>
    [Fact]
    public void Training_and_scoring_survive_a_thread_that_keeps_collecting()
    {
        using var model = new ResNet([1, 1, 1, 1], Backbones.Classes) { BFloat16 = true };
        using var optimizer = Optimizers.Create(OptimizerKind.Adam, [model.parameters()], 1e-4, 0);
        using var images = TorchRandom.Seeded(0, () => randn(4, 3, 32, 32));
        using var labels = tensor(new long[] { 0, 1, 0, 1 });
        bool stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.Collect(0);
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        try
        {
            for (int step = 0; step < 60; step++)
            {
                model.train();
                Train(model, optimizer, images, labels);
                model.eval();
                Assert.Equal(4, Scoring.FakeProbabilities(model, images, tta: 2).Length);
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
    }

    static nn.Module<Tensor, Tensor> TinyNetwork() =>
        TorchRandom.Seeded(1, () => nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)));

    static void Train(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, Tensor inputs, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var loss = nn.functional.cross_entropy(model.call(inputs), labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
}
