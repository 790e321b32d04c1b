using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Models;
using static TorchSharp.torch;
using Veracity.Checkpoints;
using Veracity.Metrics;

namespace Veracity.Training;

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
            throw new VeracityException($"{runDir} already holds a run: resume it, or start the new one in another folder");
        AtomicFile.WriteAllBytes(Path.Combine(runDir, ConfigFile),
            JsonSerializer.SerializeToUtf8Bytes(new { config, data }, new JsonSerializerOptions { WriteIndented = true }));
        return new Trainer(config, data, runDir, observer).Run(resumeFrom: null, stop);
    }

    /// <summary>Continues the run in <paramref name="runDir"/> from its last checkpoint: same model, optimiser, schedule, epoch,
    /// batch and randomness.</summary>
    public static TrainResult Resume(string runDir, ITrainingObserver observer, CancellationToken stop = default)
    {
        var info = Checkpoint.ReadInfo(Path.Combine(runDir, LastFile));
        if (info.Data is null) throw new VeracityException($"{runDir}/{LastFile} does not record its training data");
        return new Trainer(info.Config, info.Data, runDir, observer).Run(resumeFrom: info, stop);
    }

    /// <summary>The weights of a trained checkpoint to fine-tune; its network must be the one this run's settings build.</summary>
    nn.Module<Tensor, Tensor> StartingFrom(string path)
    {
        var (info, model) = Checkpoint.Load(path);
        var (want, have) = ((config.Model, config.Input, config.Freeze), (info.Backbone, info.Config.Input, info.Config.Freeze));
        if (want == have) return model;
        model.Dispose();
        throw new VeracityException($"{path} holds {have}, but this run trains {want}: fine-tuning keeps the network");
    }

    TrainResult Run(CheckpointInfo? resumeFrom, CancellationToken stop)
    {
        var spec = Backbones.Get(config.Model);
        var (trainRows, valRows) = LoadRows();
        var augmentations = config.TrainAugmentations();
        // Face crops were cut from re-encoded pictures (TrainCommand.OnFaces); whole pictures are re-encoded as they load.
        var decoder = new ImageDecoder(reencode: config.Faces is null ? config.Reencode : null);
        var train = new DataLoader(ImageDataset.Labelled(data.TrainImages, trainRows,
                new SampleTransform(config.Crop ?? config.ImageSize, config.Crop ?? config.ImageSize, augmentations, spec.Normalize)
                {
                    DecodeWidth = config.ImageSize, DecodeHeight = config.ImageSize,
                }, decoder),
            // A last batch of one image is left out: batch norm learns nothing from one value per channel, and at
            // 32 px (resnet18's last stage 1×1) its running variance became NaN, and with it every later score.
            new LoaderOptions(config.BatchSize, Shuffle: true, Seed: config.Seed, Workers: config.Workers,
                DropLast: (config.EpochSize ?? trainRows.Count) % config.BatchSize == 1)
            {
                EpochOrder = config.BalanceSources || config.BalanceFakeSources
                    ? pass => Veracity.Data.Sources.BalancedOrder(trainRows, config.Seed, pass, fakesOnly: !config.BalanceSources,
                        power: config.SourcePower)
                    : null,
                EpochSize = config.EpochSize,
            });
        var val = new DataLoader(ImageDataset.Labelled(data.ValImages ?? data.TrainImages, valRows,
                SampleTransform.Evaluation(config.ImageSize, config.ImageSize, spec.Normalize), decoder),
            new LoaderOptions(config.BatchSize, Workers: config.Workers));

        OptimizerHelper? optimizer = null;
        nn.Module<Tensor, Tensor>? model = null;
        using var average = WeightAverage.Of(config);
        try // the model and optimiser are freed however the run ends, a failed resume included
        {
            if (resumeFrom is null)
            {
                model = config.InitialCheckpoint is { } start
                    ? StartingFrom(start)
                    : Backbones.Create(config.Model, config.Pretrained, config.Seed, config.Input, config.Freeze);
                optimizer = MakeOptimizer(model);
                average?.CopyFrom(model);
            }
            else
            {
                (_, model) = Checkpoint.Load(Path.Combine(runDir, LastFile), m => optimizer = MakeOptimizer(m), average?.Model);
            }
            if (optimizer is null) throw new InvalidOperationException("no optimiser was made for the model");
            if (model is ResNet resnet) resnet.BFloat16 = config.Precision == Precision.BFloat16;

            using var log = new StreamWriter(Path.Combine(runDir, LogFile), append: true) { AutoFlush = true };
            void Line(string text)
            {
                log.WriteLine(text);
                observer.Line(text);
            }

            double? best = resumeFrom?.BestScore;
            int startEpoch = resumeFrom?.Epoch ?? 0, startBatch = resumeFrom?.NextBatch ?? 0;
            var history = ReadHistory(finishedEpochs: startEpoch);
            Line(resumeFrom is null
                ? $"Training {config.Model} ({spec.Weights}) on {trainRows.Count} images, validating on {valRows.Count}; preset {config.Preset}"
                : $"Resuming at epoch {startEpoch}, batch {startBatch}");

            if (resumeFrom is null && config.StartIsCandidate)
            {
                var start = Validate(model, val, valRows, epoch: -1);
                best = SelectionScore(config.SelectBy, start);
                Save(BestFile, model, null, 0, 0, null, best, start);
                Line($" * the starting weights: AUC {Format(start.ValAuc)}  log-loss {start.ValLogLoss:F4}  source-balanced log-loss " +
                     $"{start.ValSourceLogLoss:F4}: saved {BestFile}, which an epoch must beat");
            }

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
                        foreach (var (group, scale) in optimizer.ParamGroups.Zip(rateScales)) group.LearningRate = lr * scale;
                        var (loss, correct) = Step(model, optimizer, batch, epoch, batchIndex);
                        average?.Update(model, (long)epoch * train.BatchCount + batchIndex);
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
                        Save(LastFile, model, optimizer, epoch, batchIndex, progress, best, history.LastOrDefault(), average);
                        Line($"Stopped at epoch {epoch}, batch {batchIndex}; {runDir} can be resumed");
                        return new TrainResult(TrainOutcome.Interrupted, runDir, history, best);
                    }
                }

                double imagesPerSecond = imagesThisRun / clock.Elapsed.TotalSeconds;
                average?.EndEpoch(model, epoch);
                // What is validated, kept as best.ckpt and scored: the weight average once it holds something.
                var evaluated = average is not null && average.HasStarted(epoch) ? average.Model : model;
                var row = Validate(evaluated, val, valRows, epoch) with
                {
                    TrainLoss = progress.LossSum / progress.Seen, TrainAccuracy = progress.Correct / progress.Seen, LearningRate = lr,
                    ImagesPerSecond = imagesPerSecond,
                };
                foreach (var fallback in ConvolutionCheck.NewFailures())
                    Line($"Note: {fallback}; that convolution runs on a slower, correct path instead");
                history.Add(row);
                File.AppendAllText(Path.Combine(runDir, MetricsFile), JsonSerializer.Serialize(row) + "\n");
                Line($" * Acc@1 {row.ValAccuracy * 100:F3}  AUC {Format(row.ValAuc)}  AP {Format(row.ValAp)}  " +
                     $"EER {Format(row.ValEer)}  log-loss {row.ValLogLoss:F4}  ({imagesPerSecond:F1} images/s training)");
                if (row.ValLowestSource is { } source && source != Veracity.Data.Sources.Unknown)
                    Line($"   lowest source AUC {row.ValLowestSourceAuc:F4} ({source})  source-balanced log-loss {row.ValSourceLogLoss:F4}");

                double score = SelectionScore(config.SelectBy, row);
                if (best is null || score > best)
                {
                    best = score;
                    Save(BestFile, evaluated, null, epoch + 1, 0, null, best, row);
                    Line($"   new best {config.SelectBy.ToString().ToLowerInvariant()} {Math.Abs(score):F4}: saved {BestFile}");
                }
                Save(LastFile, model, optimizer, epoch + 1, 0, null, best, row, average);
                if (stop.IsCancellationRequested && epoch + 1 < config.Epochs)
                {
                    Line($"Stopped after epoch {epoch}; {runDir} can be resumed");
                    return new TrainResult(TrainOutcome.Interrupted, runDir, history, best);
                }
            }
            return new TrainResult(TrainOutcome.Finished, runDir, history, best);
        }
        finally
        {
            optimizer?.Dispose();
            model?.Dispose();
        }
    }

    /// <summary>The figure best.ckpt keeps the highest of (the checkpoint's BestScore): minus the log-loss, so lower wins.</summary>
    static double SelectionScore(SelectBy by, EpochMetrics row) => by switch
    {
        SelectBy.Accuracy => row.ValAccuracy,
        SelectBy.LogLoss => -row.ValLogLoss,
        SelectBy.SourceAuc => row.ValLowestSourceAuc ?? row.ValAuc ?? row.ValAccuracy,
        SelectBy.SourceLogLoss => -(row.ValSourceLogLoss ?? row.ValLogLoss),
        _ => row.ValAuc ?? row.ValAccuracy,
    };

    /// <summary>One optimiser step; returns the batch loss and how many predictions matched the labels.</summary>
    (double Loss, int Correct) Step(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, Batch batch, int epoch, int batchIndex)
    {
        using var scope = NewDisposeScope();
        var rng = new Random(Seeds.Mix(config.Seed, epoch, batchIndex, Seeds.Salt.BatchMixing));
        var labels = batch.Labels ?? throw new InvalidOperationException("training data must be labelled");
        var (images, mixedLabels, mix) = BatchMixing.Apply(config, batch.Images, labels, rng);
        var logits = model.call(images);
        var loss = nn.functional.cross_entropy(logits, labels);
        if (mixedLabels is not null) loss = BatchMixing.Blend(loss, nn.functional.cross_entropy(logits, mixedLabels), mix);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        int correct = (int)logits.argmax(1).eq(labels).sum().item<long>();
        return (loss.item<float>(), correct);
    }

    /// <summary>
    /// An epoch's row with the validation figures filled in (the training ones zero, for the caller to set): the
    /// fake source whose AUC against all validation reals is lowest, and the mean of each source's log-loss, too.
    /// </summary>
    EpochMetrics Validate(nn.Module<Tensor, Tensor> model, DataLoader val, IReadOnlyList<LabelRow> rows, int epoch)
    {
        model.eval();
        observer.Validating(epoch, val.BatchCount);
        var scores = new List<double>(val.Dataset.Count);
        var targets = new List<int>(val.Dataset.Count);
        var sources = new List<string>(val.Dataset.Count);
        foreach (var batch in val.Epoch())
            using (batch)
            {
                scores.AddRange(Scoring.FakeProbabilities(model, batch.Images).Select(s => (double)s));
                targets.AddRange(batch.Indices.Select(i => val.Dataset.Targets![i]));
                sources.AddRange(batch.Indices.Select(i => rows[i].Source));
                observer.ValidationBatchDone();
            }
        int notNumbers = scores.Count(double.IsNaN);
        if (notNumbers > 0)
            throw new VeracityException($"after epoch {epoch} the network scores {notNumbers} of {scores.Count} validation images as NaN: " +
                                        "its weights or batch-norm statistics are not numbers. The last good checkpoint is kept.");
        var bySource = ScoreMetrics.AucBySource(scores, targets, sources);
        var metrics = BinaryMetrics.Compute(scores, targets);
        (string Source, double Auc)? lowest = bySource.Count > 0 ? bySource[0] : null;
        return new EpochMetrics(epoch, 0, 0, 0, 0, metrics.Accuracy, metrics.Auc, metrics.AveragePrecision, metrics.Eer, metrics.EerThreshold,
            metrics.LogLoss, lowest?.Auc, lowest?.Source, ScoreMetrics.SourceBalancedLogLoss(scores, targets, sources));
    }

    void Save(string file, nn.Module model, OptimizerHelper? optimizer, int epoch, int nextBatch, EpochProgress? progress, double? best,
        EpochMetrics? metrics, WeightAverage? average = null)
    {
        var spec = Backbones.Get(config.Model);
        Checkpoint.Save(Path.Combine(runDir, file), new CheckpointInfo
        {
            Backbone = config.Model, ImageSize = config.ImageSize, Normalize = spec.Normalize,
            InitialWeights = config.InitialCheckpoint is { } start ? $"fine-tuned from {Path.GetFileName(start)} ({Checkpoint.ReadInfo(start).InitialWeights})"
                : config.Pretrained && spec.Pretrained ? spec.Weights : "none: random initialisation",
            Config = config, Data = data, Epoch = epoch, NextBatch = nextBatch, Progress = progress, BestScore = best,
            Metrics = metrics, Threshold = metrics?.EerThreshold ?? BinaryMetrics.DecisionThreshold,
        }, model, optimizer, average?.Model);
    }

    OptimizerHelper MakeOptimizer(nn.Module<Tensor, Tensor> model)
    {
        var groups = RateGroups(model);
        rateScales = groups.Select(g => g.Scale).ToList();
        return Optimizers.Create(config.Optimizer, groups.Select(g => g.Parameters).ToList(), config.LearningRate, config.WeightDecay);
    }

    /// <summary>Each parameter group's share of the scheduled learning rate, in the optimiser's group order.</summary>
    IReadOnlyList<double> rateScales = [1];

    /// <summary>The trainable parameters: one group, or one per depth with <see cref="TrainConfig.LayerDecay"/>.</summary>
    IReadOnlyList<(IReadOnlyList<TorchSharp.Modules.Parameter> Parameters, double Scale)> RateGroups(nn.Module<Tensor, Tensor> model)
    {
        if (config.LayerDecay == 1 || model is not ResNet resnet) return [(model.parameters().Where(p => p.requires_grad).ToList(), 1.0)];
        var byDepth = resnet.ParametersByDepth();
        return byDepth.Select((parameters, depth) => (
                Parameters: (IReadOnlyList<TorchSharp.Modules.Parameter>)parameters.Where(p => p.requires_grad).ToList(),
                Scale: Math.Pow(config.LayerDecay, byDepth.Count - 1 - depth)))
            .Where(group => group.Parameters.Count > 0).ToList();
    }

    (IReadOnlyList<LabelRow> Train, IReadOnlyList<LabelRow> Val) LoadRows()
    {
        IReadOnlyList<LabelRow> Head(IReadOnlyList<LabelRow> rows) => config.Limit is int n ? rows.Take(n).ToList() : rows;
        foreach (string folder in new[] { data.TrainImages, data.ValImages }.OfType<string>())
            ImagePaths.RequireFolder(folder);
        var train = Head(Read(data.TrainLabels));
        if (data.ValLabels is not null)
            return (train, Head(Read(data.ValLabels)));
        var (kept, held) = Splits.Stratified(train, data.ValFraction, config.Seed);
        return (kept, held);
    }

    /// <summary>A label file's rows with their sources (the column, or the sources file), narrowed to the selected sources.</summary>
    IReadOnlyList<LabelRow> Read(string labels)
    {
        var rows = LabelFile.ReadLabels(labels);
        if (data.Sources is not null) rows = Veracity.Data.Sources.Apply(rows, data.Sources);
        return data.OnlySources is null && data.ExcludeSources is null ? rows
            : Veracity.Data.Sources.Select(rows, data.OnlySources, data.ExcludeSources);
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
}
