using System.Buffers;
using static TorchSharp.torch;

namespace Veracity.Data;

/// <summary>
/// One batch: images N×3×H×W (float32), labels N (int64; null when the data set is unlabelled), and which rows they
/// came from. Dispose it.
/// </summary>
public sealed class Batch(Tensor images, Tensor? labels, int[] indices, IReadOnlyDictionary<int, string> failures) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor? Labels { get; } = labels;
    /// <summary>Dataset row of each sample, in batch order.</summary>
    public int[] Indices { get; } = indices;
    /// <summary>Batch positions whose image could not be read (only with <see cref="LoaderOptions.TolerateUnreadable"/>):
    /// their pixels are zero.</summary>
    public IReadOnlyDictionary<int, string> Failures { get; } = failures;
    public int Size => Indices.Length;

    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
    }
}

/// <summary>Loader settings. <see cref="Prefetch"/> bounds how many decoded batches may wait in memory.</summary>
public sealed record LoaderOptions(int BatchSize = 40, bool Shuffle = false, int Seed = 0, int Workers = 2, int Prefetch = 0,
    bool DropLast = false, bool TolerateUnreadable = false)
{
    public int QueueDepth => Prefetch > 0 ? Prefetch : Math.Max(2, Workers);

    /// <summary>Another sampler's row order for an epoch (as many rows as the dataset, repeats allowed), instead of a shuffle.</summary>
    public Func<int, int[]>? EpochOrder { get; init; }

    /// <summary>
    /// Rows per epoch when an epoch is not one pass over the data: epoch e takes rows e·size to (e+1)·size - 1 of the
    /// passes 0, 1, 2, … laid end to end, so every row is seen once before any is seen again.
    /// </summary>
    public int? EpochSize { get; init; }
}

/// <summary>
/// Batches a dataset, decoding in parallel on a bounded queue of batches so memory depends on the queue depth,
/// never on the dataset's size. Shuffling and augmentation randomness depend only on (seed, epoch, row), so a run
/// is reproducible whatever the thread timing. Evaluation loaders keep the dataset's order.
/// </summary>
public sealed class DataLoader(ImageDataset dataset, LoaderOptions options)
{
    public ImageDataset Dataset { get; } = dataset;
    public LoaderOptions Options { get; } = options;

    public int RowsPerEpoch => Options.EpochSize ?? Dataset.Count;

    public int BatchCount => Options.DropLast
        ? RowsPerEpoch / Options.BatchSize
        : (RowsPerEpoch + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>The row order of an epoch: one pass, or its share of the passes when the epoch size is set.</summary>
    public int[] Order(int epoch)
    {
        if (Options.EpochSize is not { } size) return Pass(epoch);
        var order = new int[size];
        int rows = Dataset.Count;
        for (int filled = 0; filled < size;)
        {
            long position = (long)epoch * size + filled;
            int offset = (int)(position % rows), take = Math.Min(size - filled, rows - offset);
            Array.Copy(Pass((int)(position / rows)), offset, order, filled, take);
            filled += take;
        }
        return order;
    }

    /// <summary>The row order of one pass over the data: the sampler's, else a seeded permutation when shuffling, else 0..n-1.</summary>
    int[] Pass(int pass)
    {
        if (Options.EpochOrder is { } sampler) return sampler(pass);
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Options.Shuffle) new Random(Seeds.Mix(Options.Seed, pass, Seeds.Salt.Shuffle)).Shuffle(order);
        return order;
    }

    /// <summary>The batches of one epoch as tensors, starting at batch <paramref name="startBatch"/> (for resuming mid-epoch).</summary>
    public IEnumerable<Batch> Epoch(int epoch = 0, int startBatch = 0)
    {
        foreach (var decoded in Decoded(epoch, startBatch))
            using (decoded)
                yield return decoded.ToBatch();
    }

    /// <summary>
    /// The batches of one epoch as decoded pixels in pooled memory, starting at batch <paramref name="startBatch"/>:
    /// what scoring on ONNX Runtime reads without libtorch. Dispose each.
    /// </summary>
    public IEnumerable<DecodedBatch> Decoded(int epoch = 0, int startBatch = 0)
    {
        int[] order = Order(epoch);
        using var workers = new SemaphoreSlim(Math.Max(1, Options.Workers));
        using var cancel = new CancellationTokenSource();
        var pending = new Queue<Task<DecodedBatch>>();
        int next = startBatch;
        try
        {
            while (next < BatchCount && pending.Count < Options.QueueDepth)
                pending.Enqueue(DecodeAsync(order, next++, epoch, workers, cancel.Token));
            while (pending.Count > 0)
            {
                var decoded = pending.Dequeue().GetAwaiter().GetResult();
                if (next < BatchCount)
                    pending.Enqueue(DecodeAsync(order, next++, epoch, workers, cancel.Token));
                yield return decoded;
            }
        }
        finally
        {
            cancel.Cancel();
            // Batches decoded ahead are returned to the pool. Their own errors are dropped on purpose: the epoch is
            // being left, and the exception that left it (a diverged loss, a stop) is the one the caller must see.
            foreach (var task in pending)
            {
                try { task.GetAwaiter().GetResult().Dispose(); }
                catch (Exception) { }
            }
        }
    }

    Task<DecodedBatch> DecodeAsync(int[] order, int batch, int epoch, SemaphoreSlim workers, CancellationToken cancel) =>
        Task.Run(async () =>
        {
            await workers.WaitAsync(cancel);
            try
            {
                int start = batch * Options.BatchSize;
                int[] indices = order[start..Math.Min(start + Options.BatchSize, order.Length)];
                var transform = Dataset.Transform;
                int floats = transform.FloatCount;
                var host = new DecodedBatch(indices,
                    new PixelBatch(ArrayPool<float>.Shared.Rent(indices.Length * floats), indices.Length, transform.Height, transform.Width),
                    Dataset.Targets is { } targets ? indices.Select(index => (long)targets[index]).ToArray() : null, []);
                try
                {
                    for (int i = 0; i < indices.Length; i++)
                    {
                        cancel.ThrowIfCancellationRequested();
                        var rng = new Random(Seeds.Mix(Options.Seed, epoch, indices[i]));
                        var pixels = host.Images.Pixels.AsSpan(i * floats, floats);
                        try
                        {
                            Dataset.Load(indices[i], rng, pixels);
                        }
                        catch (Imaging.ImageDecodeException e) when (Options.TolerateUnreadable)
                        {
                            pixels.Clear();
                            host.Failures[i] = e.Problem;
                        }
                    }
                }
                catch
                {
                    host.Dispose();
                    throw;
                }
                return host;
            }
            finally
            {
                workers.Release();
            }
        }, cancel);
}

/// <summary>
/// One batch decoded into pooled managed memory: its pixels, labels (null when unlabelled), dataset rows and the
/// positions that could not be read (zero pixels). Dispose it to return the memory, or make it a <see cref="Batch"/>.
/// </summary>
public sealed class DecodedBatch(int[] indices, PixelBatch images, long[]? labels, Dictionary<int, string> failures) : IDisposable
{
    public int[] Indices { get; } = indices;
    public PixelBatch Images { get; } = images;
    public long[]? Labels { get; } = labels;
    public Dictionary<int, string> Failures { get; } = failures;
    public int Size => Indices.Length;
    bool _returned;

    /// <summary>The batch as tensors, one copy straight into their memory: no per-batch managed array for the GC to chase.</summary>
    public Batch ToBatch()
    {
        var images = Images.ToTensor();
        return new Batch(images, Labels is null ? null : tensor(Labels, [Size]), Indices, Failures);
    }

    public void Dispose()
    {
        if (_returned) return;
        _returned = true;
        ArrayPool<float>.Shared.Return(Images.Pixels);
    }
}
