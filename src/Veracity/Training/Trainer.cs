using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using Veracity.Data;
using Veracity.Evaluation;
using Veracity.Inference;
using Veracity.Models;
using static TorchSharp.torch;

namespace Veracity.Training;

/// <summary>What a caller sees while training runs (the CLI draws progress bars from it).</summary>
public interface ITrainingObserver
{
    void EpochStarted(int epoch, int batches, int firstBatch);
    void BatchDone(int epoch, int batch, double loss, double accuracy, double imagesPerSecond);
    void Validating(int epoch, int batches);
    void ValidationBatchDone();
    /// <summary>A line for the terminal; the same line goes to the run's train.log.</summary>
    void Line(string text);
}

public enum TrainOutcome { Finished, Interrupted }

public sealed record TrainResult(TrainOutcome Outcome, string RunDir, IReadOnlyList<EpochMetrics> Epochs, double? BestScore)
{
    public string BestCheckpoint => Path.Combine(RunDir, Trainer.BestFile);
    public string LastCheckpoint => Path.Combine(RunDir, Trainer.LastFile);
}

/// <summary>A NaN or infinite loss: training stops rather than writing a broken model.</summary>
public sealed class TrainingDivergedException(int epoch, int batch, double learningRate, double loss)
    : VeracityException($"loss became {loss} at epoch {epoch}, batch {batch} (learning rate {learningRate:G3}); " +
                        "try a smaller --lr. The last good checkpoint is kept.");

/// <summary>
/// The training loop, in one place: fine-tune, log like the reference baseline, validate every epoch, keep the best
/// and last checkpoints, stop cleanly on request and resume exactly where it stopped.
/// </summary>
public sealed class Trainer(TrainConfig config, TrainData data, string runDir, ITrainingObserver observer)
{
    public const string BestFile = "best.ckpt", LastFile = "last.ckpt", ConfigFile = "config.json",
        MetricsFile = "metrics.jsonl", LogFile = "train.log";

    /// <summary>Starts a new run in <paramref name="runDir"/>.</summary>
    public static TrainResult Train(TrainConfig config, TrainData data, string runDir, ITrainingObserver observer, CancellationToken stop = default)
    {
        config.Validate();
        config = config with { Precision = Backbones.Get(config.Model).Resolve(config.Precision) };
        Directory.CreateDirectory(runDir);
        if (File.Exists(Path.Combine(runDir, LastFile)))
            throw new VeracityException($"{runDir} already holds a run; use --resume {runDir} to continue it, or another --out");
        AtomicFile.WriteAllBytes(Path.Combine(runDir, ConfigFile),
            JsonSerializer.SerializeToUtf8Bytes(new { config, data }, new JsonSerializerOptions { WriteIndented = true }));
        return new Trainer(config, data, runDir, observer).Run(resumeFrom: null, stop);
    }

    /// <summary>Continues the run in <paramref name="runDir"/> from its last checkpoint: same model, optimiser, schedule, epoch, batch and randomness.</summary>
    public static TrainResult Resume(string runDir, ITrainingObserver observer, CancellationToken stop = default)
    {
        var info = Checkpoint.ReadInfo(Path.Combine(runDir, LastFile));
        if (info.Data is null) throw new VeracityException($"{runDir}/{LastFile} does not record its training data");
        return new Trainer(info.Config, info.Data, runDir, observer).Run(resumeFrom: info, stop);
    }

    TrainResult Run(CheckpointInfo? resumeFrom, CancellationToken stop)
    {
        var spec = Backbones.Get(config.Model);
        var (trainRows, valRows) = LoadRows();
        var augmentations = config.TrainAugmentations();
        var train = new DataLoader(new ImageDataset(data.TrainImages, trainRows,
                new SampleTransform(config.ImageSize, config.ImageSize, augmentations, spec.Normalize)),
            new LoaderOptions(config.BatchSize, Shuffle: true, Seed: config.Seed, Workers: config.Workers));
        var val = new DataLoader(new ImageDataset(data.ValImages ?? data.TrainImages, valRows,
                SampleTransform.Evaluation(config.ImageSize, config.ImageSize, spec.Normalize)),
            new LoaderOptions(config.BatchSize, Workers: config.Workers));

        OptimizerHelper optimizer = null!;
        nn.Module<Tensor, Tensor> model;
        if (resumeFrom is null)
        {
            model = Backbones.Create(config.Model, config.Pretrained, config.Seed);
            optimizer = MakeOptimizer(model);
        }
        else
        {
            (_, model) = Checkpoint.Load(Path.Combine(runDir, LastFile), m => optimizer = MakeOptimizer(m));
        }
        if (model is ResNet resnet) resnet.BFloat16 = config.Precision == Precision.BFloat16;

        using var log = new StreamWriter(Path.Combine(runDir, LogFile), append: true) { AutoFlush = true };
        void Line(string text)
        {
            log.WriteLine(text);
            observer.Line(text);
        }

        double? best = resumeFrom?.BestScore;
        int startEpoch = resumeFrom?.Epoch ?? 0, startBatch = resumeFrom?.NextBatch ?? 0, reportedFallbacks = 0;
        var history = ReadHistory(finishedEpochs: startEpoch);
        Line(resumeFrom is null
            ? $"Training {config.Model} ({spec.Weights}) on {trainRows.Count} images, validating on {valRows.Count}; preset {config.Preset}"
            : $"Resuming at epoch {startEpoch}, batch {startBatch}");

        using (model)
        using (optimizer)
            for (int epoch = startEpoch; epoch < config.Epochs; epoch++)
            {
                Line($"Epoch: {epoch}");
                var progress = epoch == startEpoch ? resumeFrom?.Progress ?? new EpochProgress(0, 0, 0) : new EpochProgress(0, 0, 0);
                var meter = new ReferenceMeter(train.BatchCount);
                int first = epoch == startEpoch ? startBatch : 0;
                observer.EpochStarted(epoch, train.BatchCount, first);
                model.train();
                var clock = Stopwatch.StartNew();
                int batchIndex = first, imagesThisRun = 0;
                double lr = config.LearningRateAt(epoch, batchIndex, train.BatchCount);
                foreach (var batch in train.Epoch(epoch, first))
                {
                    using (batch)
                    {
                        lr = config.LearningRateAt(epoch, batchIndex, train.BatchCount);
                        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                        var (loss, correct) = Step(model, optimizer, batch, epoch, batchIndex);
                        if (!double.IsFinite(loss)) throw new TrainingDivergedException(epoch, batchIndex, lr, loss);
                        progress = new EpochProgress(progress.LossSum + loss * batch.Size, progress.Correct + correct, progress.Seen + batch.Size);
                        imagesThisRun += batch.Size;
                        meter.Update(loss, 100.0 * correct / batch.Size, batch.Size);
                        observer.BatchDone(epoch, batchIndex, progress.LossSum / progress.Seen,
                            100 * progress.Correct / progress.Seen, imagesThisRun / clock.Elapsed.TotalSeconds);
                        if (batchIndex % config.LogEvery == 0) Line(meter.Line(batchIndex));
                    }
                    batchIndex++;
                    if (stop.IsCancellationRequested && batchIndex < train.BatchCount)
                    {
                        Save(LastFile, model, optimizer, epoch, batchIndex, progress, best, history.LastOrDefault());
                        Line($"Stopped at epoch {epoch}, batch {batchIndex}; resume with --resume {runDir}");
                        return new TrainResult(TrainOutcome.Interrupted, runDir, history, best);
                    }
                }

                double imagesPerSecond = imagesThisRun / clock.Elapsed.TotalSeconds;
                var metrics = Validate(model, val, epoch);
                foreach (var fallback in ConvolutionCheck.Failures.Skip(reportedFallbacks))
                    Line($"Note: {fallback}; that convolution runs on a slower, correct path instead");
                reportedFallbacks = ConvolutionCheck.Failures.Count;
                var row = new EpochMetrics(epoch, progress.LossSum / progress.Seen, progress.Correct / progress.Seen, lr, imagesPerSecond,
                    metrics.LogLoss, metrics.Accuracy, metrics.Auc, metrics.AveragePrecision, metrics.Eer, metrics.EerThreshold, metrics.LogLoss);
                history.Add(row);
                File.AppendAllText(Path.Combine(runDir, MetricsFile), JsonSerializer.Serialize(row) + "\n");
                Line($" * Acc@1 {metrics.Accuracy * 100:F3}  AUC {Format(metrics.Auc)}  AP {Format(metrics.AveragePrecision)}  " +
                     $"EER {Format(metrics.Eer)}  log-loss {metrics.LogLoss:F4}  ({imagesPerSecond:F1} images/s training)");

                double score = (config.SelectBy == SelectBy.Accuracy ? metrics.Accuracy : metrics.Auc ?? metrics.Accuracy);
                if (best is null || score > best)
                {
                    best = score;
                    Save(BestFile, model, null, epoch + 1, 0, null, best, row);
                    Line($"   new best {config.SelectBy.ToString().ToLowerInvariant()} {score:F4}: saved {BestFile}");
                }
                Save(LastFile, model, optimizer, epoch + 1, 0, null, best, row);
                if (stop.IsCancellationRequested && epoch + 1 < config.Epochs)
                {
                    Line($"Stopped after epoch {epoch}; resume with --resume {runDir}");
                    return new TrainResult(TrainOutcome.Interrupted, runDir, history, best);
                }
            }
        return new TrainResult(TrainOutcome.Finished, runDir, history, best);
    }

    /// <summary>One optimiser step; returns the batch loss and how many predictions matched the labels.</summary>
    (double Loss, int Correct) Step(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, Batch batch, int epoch, int batchIndex)
    {
        using var scope = NewDisposeScope();
        var rng = new Random(Seeds.Mix(config.Seed, epoch, batchIndex, -2));
        var (images, mixedLabels, mix) = BatchMixing.Apply(config, batch.Images, batch.Labels, rng);
        var logits = model.call(images);
        var loss = nn.functional.cross_entropy(logits, batch.Labels);
        if (mixedLabels is not null) loss = BatchMixing.Blend(loss, nn.functional.cross_entropy(logits, mixedLabels), mix);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        int correct = (int)logits.argmax(1).eq(batch.Labels).sum().item<long>();
        return (loss.item<float>(), correct);
    }

    BinaryMetrics Validate(nn.Module<Tensor, Tensor> model, DataLoader val, int epoch)
    {
        model.eval();
        observer.Validating(epoch, val.BatchCount);
        var scores = new List<double>(val.Dataset.Count);
        var targets = new List<int>(val.Dataset.Count);
        foreach (var batch in val.Epoch())
            using (batch)
            {
                scores.AddRange(Detector.Score(model, batch.Images).Select(s => (double)s));
                targets.AddRange(batch.Indices.Select(i => val.Dataset.Rows[i].Target));
                observer.ValidationBatchDone();
            }
        return BinaryMetrics.Compute(scores, targets);
    }

    void Save(string file, nn.Module model, OptimizerHelper? optimizer, int epoch, int nextBatch, EpochProgress? progress, double? best, EpochMetrics? metrics)
    {
        var spec = Backbones.Get(config.Model);
        Checkpoint.Save(Path.Combine(runDir, file), new CheckpointInfo
        {
            Backbone = config.Model, ImageSize = config.ImageSize, Normalize = spec.Normalize,
            InitialWeights = config.Pretrained && spec.Pretrained ? spec.Weights : "none: random initialisation",
            Config = config, Data = data, Epoch = epoch, NextBatch = nextBatch, Progress = progress, BestScore = best,
            Metrics = metrics, Threshold = metrics?.EerThreshold ?? BinaryMetrics.DecisionThreshold,
        }, model, optimizer);
    }

    OptimizerHelper MakeOptimizer(nn.Module<Tensor, Tensor> model) =>
        Optimizers.Create(config.Optimizer, model.parameters(), config.LearningRate, config.WeightDecay);

    (IReadOnlyList<LabelRow> Train, IReadOnlyList<LabelRow> Val) LoadRows()
    {
        IReadOnlyList<LabelRow> Head(IReadOnlyList<LabelRow> rows) => config.Limit is int n ? rows.Take(n).ToList() : rows;
        foreach (string folder in new[] { data.TrainImages, data.ValImages }.OfType<string>())
            ImagePaths.RequireFolder(folder);
        var train = Head(LabelFile.ReadLabels(data.TrainLabels));
        if (data.ValLabels is not null)
            return (train, Head(LabelFile.ReadLabels(data.ValLabels)));
        var (kept, held) = Splits.Stratified(train, data.ValFraction, config.Seed);
        return (kept, held);
    }

    /// <summary>
    /// The metrics of the epochs the checkpoint has finished. A row past them (the epoch was validated, then the
    /// process died before last.ckpt was written) is dropped from the file as well: that epoch runs again.
    /// </summary>
    List<EpochMetrics> ReadHistory(int finishedEpochs)
    {
        string path = Path.Combine(runDir, MetricsFile);
        if (!File.Exists(path)) return [];
        var lines = File.ReadLines(path).Where(l => l.Length > 0).ToList();
        var kept = lines.Select(l => (Line: l, Row: JsonSerializer.Deserialize<EpochMetrics>(l)!))
            .Where(r => r.Row.Epoch < finishedEpochs).ToList();
        if (kept.Count < lines.Count)
            AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(string.Concat(kept.Select(r => r.Line + "\n"))));
        return kept.Select(r => r.Row).ToList();
    }

    static string Format(double? value) => value is double v ? v.ToString("F4", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>The reference's AverageMeter/ProgressMeter line: [ i/n]  Time  x (avg)  Loss x (avg)  Acc@1 x (avg).</summary>
    sealed class ReferenceMeter(int batches)
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        double _time, _timeSum, _loss, _lossSum, _acc, _accSum;
        int _count, _steps;

        public void Update(double loss, double accuracy, int n)
        {
            _time = _clock.Elapsed.TotalSeconds;
            _clock.Restart();
            _timeSum += _time;
            _steps++;
            (_loss, _acc) = (loss, accuracy);
            _lossSum += loss * n;
            _accSum += accuracy * n;
            _count += n;
        }

        public string Line(int batch)
        {
            int digits = batches.ToString(CultureInfo.InvariantCulture).Length;
            string index = batch.ToString(CultureInfo.InvariantCulture).PadLeft(digits);
            return string.Create(CultureInfo.InvariantCulture,
                $"[{index}/{batches}]\tTime {_time,6:F3} ({_timeSum / _steps,6:F3})\tLoss {_loss:0.0000e+00} ({_lossSum / _count:0.0000e+00})\tAcc@1 {_acc,6:F2} ({_accSum / _count,6:F2})");
        }
    }
}
