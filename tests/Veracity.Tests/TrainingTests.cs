using TorchSharp;
using Veracity.Data;
using Veracity.Inference;
using Veracity.Training;
using static TorchSharp.torch;
using Veracity.Checkpoints;

namespace Veracity.Tests;

/// <summary>Records what the trainer reports and can ask it to stop after a given batch.</summary>
sealed class RecordingObserver(CancellationTokenSource? stop = null, int stopAfterBatch = -1, int stopInEpoch = 0) : ITrainingObserver
{
    public List<string> Lines { get; } = [];
    public void EpochStarted(int epoch, int batches, int firstBatch) { }
    public void BatchDone(int epoch, int batch, double loss, double accuracy, double imagesPerSecond)
    {
        if (epoch == stopInEpoch && batch == stopAfterBatch) stop?.Cancel();
    }
    public void Validating(int epoch, int batches) { }
    public void ValidationBatchDone() { }
    public void Line(string text) => Lines.Add(text);
}

public class TrainingTests(SmallSynthSet data) : IClassFixture<SmallSynthSet>
{
    static TrainConfig Tiny => TrainConfig.DefaultPreset with
    {
        Pretrained = false, ImageSize = 32, Epochs = 2, BatchSize = 8, LearningRate = 1e-3, LogEvery = 2, Workers = 2,
        JpegProbability = 0.5, ColorJitter = 0.1, MixupAlpha = 0.4, CutmixAlpha = 1.0,
    };

    TrainData Data => new(data.TrainLabels, data.TrainImages, Path.Combine(data.Root, "valset_label.txt"), Path.Combine(data.Root, "valset"), 0.1);

    internal static float[] Weights(string checkpoint)
    {
        var (_, model) = Checkpoint.Load(checkpoint);
        using (model)
            return model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
    }

    [Fact]
    public void A_run_writes_its_folder_and_logs_like_the_reference()
    {
        using var dir = new TempDir();
        var observer = new RecordingObserver();
        var result = Trainer.Train(Tiny, Data, dir.Path, observer);

        Assert.Equal(TrainOutcome.Finished, result.Outcome);
        Assert.Equal(2, result.Epochs.Count);
        foreach (string file in new[] { "config.json", "train.log", "metrics.jsonl", "best.ckpt", "last.ckpt" })
            Assert.True(File.Exists(Path.Combine(dir.Path, file)), file);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir.Path, "metrics.jsonl")).Length);
        Assert.Contains(observer.Lines, l => l == "Epoch: 0");
        Assert.Contains(observer.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l,
            @"^\[0/5\]\tTime +\d+\.\d{3} \( *\d+\.\d{3}\)\tLoss \d\.\d{4}e[+-]\d\d \(\d\.\d{4}e[+-]\d\d\)\tAcc@1 +\d+\.\d\d \( *\d+\.\d\d\)$"));
        Assert.Contains(observer.Lines, l => l.StartsWith(" * Acc@1 "));
        Assert.Equal(File.ReadAllLines(Path.Combine(dir.Path, "train.log")), observer.Lines);

        var info = Checkpoint.ReadInfo(result.BestCheckpoint);
        Assert.Equal(("resnet18", 32, "none: random initialisation"), (info.Backbone, info.ImageSize, info.InitialWeights));
        Assert.Equal(["real", "deepfake"], info.Classes);
        Assert.NotNull(info.Metrics);
        Assert.Throws<VeracityException>(() => Trainer.Train(Tiny, Data, dir.Path, observer)); // will not overwrite a run
    }

    [Theory]
    [InlineData(SelectBy.Auc)]
    [InlineData(SelectBy.Accuracy)]
    [InlineData(SelectBy.LogLoss)]
    [InlineData(SelectBy.SourceAuc)]
    [InlineData(SelectBy.SourceLogLoss)]
    public void Best_ckpt_holds_the_epoch_its_validation_figure_ranks_first(SelectBy selectBy)
    {
        using var dir = new TempDir();
        var result = Trainer.Train(Tiny with { Epochs = 3, SelectBy = selectBy }, Data, dir.Path, new RecordingObserver());

        Func<EpochMetrics, double> figure = selectBy switch
        {
            SelectBy.Accuracy => e => e.ValAccuracy,
            SelectBy.LogLoss => e => -e.ValLogLoss,
            SelectBy.SourceAuc => e => e.ValLowestSourceAuc!.Value,
            SelectBy.SourceLogLoss => e => -e.ValSourceLogLoss!.Value,
            _ => e => e.ValAuc!.Value,
        };
        // The validation set has several fake sources, so the source-wise figures are not the plain ones: a trainer that
        // kept by the plain figure would fail the BestScore check below.
        if (selectBy == SelectBy.SourceAuc) Assert.All(result.Epochs, e => Assert.NotEqual(e.ValAuc, e.ValLowestSourceAuc));
        if (selectBy == SelectBy.SourceLogLoss) Assert.All(result.Epochs, e => Assert.NotEqual(e.ValLogLoss, e.ValSourceLogLoss));
        var expected = result.Epochs.First(e => figure(e) == result.Epochs.Max(figure)); // the first of equals, as the trainer keeps
        Assert.Equal(expected.Epoch, Checkpoint.ReadInfo(result.BestCheckpoint).Metrics!.Epoch);
        Assert.Equal(figure(expected), result.BestScore);
    }

    [Theory]
    [Trait("Category", "Numerics")]
    [InlineData(Models.Precision.Float32, 0.0)]
    [InlineData(Models.Precision.BFloat16, 0.0)]
    [InlineData(Models.Precision.Float32, 0.9)] // with a weight average, which last.ckpt carries and best.ckpt holds
    [InlineData(Models.Precision.Float32, 0.0, 0.5)] // with a learning rate per depth: an optimiser state of six groups
    [InlineData(Models.Precision.Float32, 0.0, 1, 2)] // with checkpoint averaging, stopped after the average has begun
    [InlineData(Models.Precision.Float32, 0.0, 1, 0, 50)] // epochs of 50 images from 36: each spans two passes
    public void Resuming_after_a_stop_gives_the_same_model_as_an_uninterrupted_run(Models.Precision precision, double ema, double layerDecay = 1,
        int averageEpochs = 0, int? epochSize = null)
    {
        using var straight = new TempDir();
        using var stopped = new TempDir();
        var config = Tiny with
        {
            Epochs = 2, Precision = precision, EmaDecay = ema, LayerDecay = layerDecay, AverageEpochs = averageEpochs, EpochSize = epochSize,
        };
        Trainer.Train(config, Data, straight.Path, new RecordingObserver());

        using var stop = new CancellationTokenSource();
        var first = Trainer.Train(config, Data, stopped.Path, new RecordingObserver(stop, stopAfterBatch: 2), stop.Token);
        Assert.Equal(TrainOutcome.Interrupted, first.Outcome);
        Assert.Equal((0, 3), (Checkpoint.ReadInfo(first.LastCheckpoint).Epoch, Checkpoint.ReadInfo(first.LastCheckpoint).NextBatch));
        // As if epoch 0 had been validated and logged, then the process died before last.ckpt was written.
        File.AppendAllText(Path.Combine(stopped.Path, "metrics.jsonl"), File.ReadLines(Path.Combine(straight.Path, "metrics.jsonl")).First() + "\n");
        var resumed = Trainer.Resume(stopped.Path, new RecordingObserver());
        Assert.Equal(TrainOutcome.Finished, resumed.Outcome);

        foreach (string file in new[] { "last.ckpt", "best.ckpt" })
        {
            float[] a = Weights(Path.Combine(straight.Path, file)), b = Weights(Path.Combine(stopped.Path, file));
            Assert.Equal(a.Length, b.Length);
            double maxDiff = a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(maxDiff < 1e-4, $"{file}: weights differ by up to {maxDiff}");
        }
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Path, "metrics.jsonl")).Length,
            File.ReadAllLines(Path.Combine(stopped.Path, "metrics.jsonl")).Length);
    }

    [Fact]
    public void A_last_batch_of_one_image_at_32_px_is_left_out_so_batch_norm_stays_finite()
    {
        using var dir = new TempDir();
        int rows = LabelFile.ReadLabels(data.TrainLabels).Count;
        var result = Trainer.Train(Tiny with { Epochs = 1, BatchSize = rows - 1, MixupAlpha = 0, CutmixAlpha = 0 }, Data, dir.Path,
            new RecordingObserver());
        Assert.Equal(TrainOutcome.Finished, result.Outcome);
        Assert.True(double.IsFinite(Checkpoint.ReadInfo(result.BestCheckpoint).Metrics!.ValLogLoss));
    }

    [Fact]
    public void A_convolution_fallback_is_noted_once_however_many_runs_the_process_trains()
    {
        // Every 1×1 convolution is wrong channels-last here: the first run checks and notes them; a second run in the
        // same process (crossval's next fold) uses the same verdicts and has nothing new to say.
        using var simulated = Models.ConvolutionCheck.SimulateFaults((shape, _, layout) => shape.Kernel == 1 && layout == Models.ConvLayout.ChannelsLast);
        var notes = new List<List<string>>();
        for (int run = 0; run < 2; run++)
        {
            using var dir = new TempDir();
            var observer = new RecordingObserver();
            Trainer.Train(Tiny with { Epochs = 1 }, Data, dir.Path, observer);
            notes.Add(observer.Lines.Where(l => l.StartsWith("Note: ")).ToList());
        }
        Assert.NotEmpty(notes[0]);
        Assert.All(notes[0], note => Assert.Contains("1x1", note));
        Assert.Equal(notes[0].Count, notes[0].Distinct().Count());
        Assert.Empty(notes[1]);
    }

    [Fact]
    public void A_diverging_loss_stops_with_epoch_batch_and_learning_rate()
    {
        using var dir = new TempDir();
        var config = Tiny with { LearningRate = 1e30, Optimizer = OptimizerKind.Sgd, MixupAlpha = 0, CutmixAlpha = 0 };
        var error = Assert.Throws<TrainingDivergedException>(() => Trainer.Train(config, Data, dir.Path, new RecordingObserver()));
        Assert.Matches(@"loss became (NaN|-?∞|Infinity|-Infinity) at epoch \d+, batch \d+ \(learning rate [0-9.E+]+\)", error.Message);
    }

    [Fact]
    public void Saved_and_loaded_checkpoints_predict_identically_and_tta1_is_plain()
    {
        using var dir = new TempDir();
        var result = Trainer.Train(Tiny with { Epochs = 1 }, Data, dir.Path, new RecordingObserver());
        using var detector = Detector.Load(result.LastCheckpoint, Engine.Torch);
        string copy = Path.Combine(dir.Path, "copy.ckpt");
        Checkpoint.Save(copy, detector.Info, detector.Model!);
        using var reloaded = Detector.Load(copy, Engine.Torch);

        var loader = new DataLoader(ImageDataset.Labelled(data.TrainImages, LabelFile.ReadLabels(data.TrainLabels), detector.Transform),
            new LoaderOptions(BatchSize: 12));
        using var batch = loader.Epoch().First();
        Assert.Equal(detector.Score(batch.Images), reloaded.Score(batch.Images));

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        float[] plain = nn.functional.softmax(detector.Model!.call(batch.Images), 1)[.., 1].data<float>().ToArray();
        Assert.Equal(plain, detector.Score(batch.Images, tta: 1));
        float[] tta4 = detector.Score(batch.Images, tta: 4);
        Assert.All(tta4, p => Assert.InRange(p, 0f, 1f));
        Assert.NotEqual(plain, tta4);

        // Without a view count the model's own is taken: the recipe's test views, recorded in the checkpoint.
        Assert.Equal(plain, detector.Score(batch.Images));
        string fourViews = Path.Combine(dir.Path, "four-views.ckpt");
        Checkpoint.Save(fourViews, detector.Info with { Config = detector.Info.Config with { TestViews = 4 } }, detector.Model!);
        using var flipped = Detector.Load(fourViews, Engine.Torch);
        Assert.Equal(tta4, flipped.Score(batch.Images));
        Assert.Equal(plain, flipped.Score(batch.Images, tta: 1));
    }

    [Fact]
    public void A_window_score_is_the_most_suspicious_windows_and_onnx_refuses_windows()
    {
        using var dir = new TempDir();
        var result = Trainer.Train(Tiny with { Epochs = 1 }, Data, dir.Path, new RecordingObserver());
        using var detector = Detector.Load(result.BestCheckpoint, Engine.Torch);
        var loader = new DataLoader(ImageDataset.Labelled(data.TrainImages, LabelFile.ReadLabels(data.TrainLabels), detector.Transform),
            new LoaderOptions(BatchSize: 6));
        using var batch = loader.Epoch().First();
        int size = detector.Info.ImageSize, window = size / 2;
        // Every window/4 px, the last flush with the far edge.
        Assert.Equal([0L, 4, 8, 12, 16], Models.Scoring.Origins(size, window));
        Assert.Equal([0L, 4, 8, 12, 14], Models.Scoring.Origins(30, 16));

        var byWindow = (from top in Models.Scoring.Origins(size, window)
                        from left in Models.Scoring.Origins(size, window)
                        select detector.Score(batch.Images[.., .., TensorIndex.Slice(top, top + window),
                            TensorIndex.Slice(left, left + window)], tta: 2)).ToList();
        float[] expected = Enumerable.Range(0, batch.Size).Select(i => byWindow.Max(scores => scores[i])).ToArray();
        float[] windowed = detector.Score(batch.Images, tta: 2, window: window);
        Assert.Equal(expected, windowed);
        Assert.True(windowed.Zip(detector.Score(batch.Images, tta: 2)).Any(p => p.First != p.Second), "the window score is the whole picture's");
        Assert.Equal(detector.Score(batch.Images), detector.Score(batch.Images, window: size));
        Assert.Throws<VeracityException>(() => detector.Score(batch.Images, window: size + 1));

        using var onnx = Detector.Load(result.BestCheckpoint, Engine.Onnx);
        var refused = Assert.Throws<VeracityException>(() => onnx.Score(batch.Images, window: window));
        Assert.Contains("TorchSharp engine", refused.Message);
        // Told up front, the automatic engine is a TorchSharp one on every CPU, and ONNX is refused before any scoring.
        using (var auto = Detector.Load(result.BestCheckpoint, Engine.Auto, windows: true))
            Assert.Contains(auto.Engine, new[] { Engine.Torch, Engine.TorchBf16 });
        Assert.Contains("TorchSharp engine",
            Assert.Throws<VeracityException>(() => Detector.Load(result.BestCheckpoint, Engine.Onnx, windows: true)).Message);
    }

    [Fact]
    [Trait("Category", "Numerics")]
    public void Every_engine_gives_the_float64_probabilities_within_its_precision()
    {
        using var dir = new TempDir();
        var result = Trainer.Train(Tiny with { Epochs = 1 }, Data, dir.Path, new RecordingObserver());
        string onnx = Path.Combine(dir.Path, "model.onnx");
        var export = Cli.Run("export", "--model", result.BestCheckpoint, "--out", onnx);
        Assert.True(export.ExitCode == 0, export.All);

        using var torchDetector = Detector.Load(result.BestCheckpoint, Engine.Torch);
        using var fromFile = Detector.Load(onnx);
        using var inMemory = Detector.Load(result.BestCheckpoint, Engine.Onnx);
        using var auto = Detector.Load(result.BestCheckpoint);
        Assert.Equal((Engine.Torch, Engine.Onnx, Engine.Onnx), (torchDetector.Engine, fromFile.Engine, inMemory.Engine));
        // Auto is the fastest engine that is correct here by this machine's timings, which it measured or found kept.
        var timed = EngineChoice.Known(MachineCache.Current).Single(t => t.Network == EngineChoice.NetworkOf(auto.Info));
        Assert.Equal(EngineChoice.Fastest(timed, windows: false), auto.Engine);
        Assert.Contains(timed.Engines, t => t.Engine == Engine.Onnx && t.Correct);
        using (var planted = new TempDir())
        {
            // Where ONNX Runtime is timed fastest but its numbers are wrong, auto takes the fastest engine that is right.
            var machine = new MachineCache(planted.Path, "a machine where ONNX Runtime is fast and wrong");
            EngineChoice.For(auto.Info, machine, () => [new(Engine.Torch, 10, 0, 1e-3), new(Engine.Onnx, 100, 0.3, 1e-3)]);
            using var picked = Detector.Load(result.BestCheckpoint, Engine.Auto, windows: false, machine);
            Assert.Equal(Engine.Torch, picked.Engine);
        }
        Assert.Equal(torchDetector.Info.Threshold, fromFile.Info.Threshold);

        var loader = new DataLoader(ImageDataset.Labelled(data.TrainImages, LabelFile.ReadLabels(data.TrainLabels), torchDetector.Transform),
            new LoaderOptions(BatchSize: 12));
        using var batch = loader.Epoch().First();
        var (_, reference) = Checkpoint.Load(result.BestCheckpoint);
        using (reference)
        using (var images64 = batch.Images.to(ScalarType.Float64))
        foreach (int tta in new[] { 1, 3 })
        {
            reference.to(ScalarType.Float64).eval();
            float[] expected = Models.Scoring.FakeProbabilities(reference, images64, tta);
            // Float32 engines measured within 1e-7 of float64 here; bfloat16 rounds every layer to 8 bits.
            var engines = new[] { (torchDetector, 1e-5), (fromFile, 1e-5), (inMemory, 1e-5), (auto, auto.Engine == Engine.TorchBf16 ? 0.02 : 1e-5) };
            foreach (var (detector, tolerance) in engines)
            {
                double maxDiff = expected.Zip(detector.Score(batch.Images, tta)).Max(p => Math.Abs(p.First - p.Second));
                Assert.True(maxDiff < tolerance, $"{detector.Engine}, TTA {tta}: probabilities differ by up to {maxDiff}");
            }
        }
    }

    [Fact]
    public void Training_on_a_prepared_copy_gives_the_same_model()
    {
        using var dir = new TempDir();
        var train = Prepare.Run(Data.TrainLabels, Data.TrainImages, Tiny.ImageSize, Path.Combine(dir.Path, "prepared"));
        var val = Prepare.Run(Data.ValLabels!, Data.ValImages!, Tiny.ImageSize, Path.Combine(dir.Path, "prepared"));
        var prepared = new TrainData(train.LabelFile, Path.Combine(dir.Path, "prepared", "trainset"),
            val.LabelFile, Path.Combine(dir.Path, "prepared", "valset"), 0.1);

        var config = Tiny with { Epochs = 1 };
        var a = Trainer.Train(config, Data, Path.Combine(dir.Path, "original"), new RecordingObserver());
        var b = Trainer.Train(config, prepared, Path.Combine(dir.Path, "copy"), new RecordingObserver());
        double maxDiff = Weights(a.LastCheckpoint).Zip(Weights(b.LastCheckpoint)).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff < 1e-5, $"weights differ by up to {maxDiff}");
        Assert.Equal(a.Epochs[0].ValAuc, b.Epochs[0].ValAuc);
    }

    [Fact]
    public void Checkpoint_loading_says_what_does_not_fit()
    {
        using var dir = new TempDir();
        Assert.Contains("not found", Assert.Throws<VeracityException>(() => Checkpoint.ReadInfo(Path.Combine(dir.Path, "none.ckpt"))).Message);
        string text = dir.File("text.ckpt", "hello");
        Assert.Contains("is not a Veracity checkpoint", Assert.Throws<VeracityException>(() => Checkpoint.Load(text)).Message);

        var result = Trainer.Train(Tiny with { Epochs = 1 }, Data, Path.Combine(dir.Path, "run"), new RecordingObserver());
        byte[] bytes = File.ReadAllBytes(result.BestCheckpoint);
        string truncated = Path.Combine(dir.Path, "truncated.ckpt");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Contains("weights do not fit", Assert.Throws<VeracityException>(() => Checkpoint.Load(truncated)).Message);
    }

    [Fact]
    public void Without_validation_labels_a_stratified_share_is_held_out()
    {
        var rows = LabelFile.ReadLabels(data.TrainLabels);
        var (kept, held) = Splits.Stratified(rows, 0.25, seed: 1);
        Assert.Equal(rows.Count, kept.Count + held.Count);
        Assert.Equal(held.Count(r => r.Target == 0), held.Count(r => r.Target == 1));
        Assert.Empty(kept.Select(r => r.Name).Intersect(held.Select(r => r.Name)));
        Assert.Equal(held, Splits.Stratified(rows, 0.25, seed: 1).HeldOut);
    }
}
