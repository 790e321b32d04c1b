using System.Threading.Channels;
using static TorchSharp.torch;

namespace Veracity.Server;

/// <summary>
/// The network the server runs: a batch of preprocessed images (N×3×S×S) to deepfake probabilities, and the batch
/// sizes it is warmed for. TorchSharp engines check each convolution shape against float64 the first time it runs
/// (batch size included), so they run only sizes that the warm-up has already checked; ONNX Runtime takes any size.
/// </summary>
public sealed record BatchModel(Func<Tensor, float[]> Score, int ImageSize, IReadOnlyList<int> WarmSizes, bool OnlyWarmSizes)
{
    public int FloatsPerImage => 3 * ImageSize * ImageSize;
}

/// <summary>
/// Micro-batching: concurrent requests queue their images, and one worker scores up to <c>maxBatch</c> of them at a
/// time, waiting at most <c>maxWait</c> after the first for others to join. The queue is bounded in images; a
/// request whose images do not fit is refused whole. Images whose request was cancelled (client gone, timeout) are
/// dropped before they reach the network.
/// </summary>
public sealed class BatchScorer : IAsyncDisposable
{
    readonly Channel<Job> _jobs = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    readonly BatchModel _model;
    readonly int _maxBatch, _capacity;
    readonly TimeSpan _maxWait;
    readonly ServerMetrics _metrics;
    readonly Task _worker;
    readonly Lock _network = new();
    int _queued;

    sealed record Job(float[] Chw, TaskCompletionSource<float> Result, CancellationToken Cancel);

    public BatchScorer(BatchModel model, ServeOptions options, ServerMetrics metrics)
    {
        _model = model;
        _maxBatch = options.MaxBatch;
        _capacity = options.QueueCapacity;
        _maxWait = options.MaxWait;
        _metrics = metrics;
        _worker = Task.Run(RunAsync);
    }

    public int Queued => Volatile.Read(ref _queued);
    public int Capacity => _capacity;

    /// <summary>Whether the warm-up batches have run: the server reports ready only then.</summary>
    public bool Ready { get; private set; }

    /// <summary>Runs one batch of each warm size through the network (and its convolution checks) before traffic arrives.</summary>
    public void WarmUp()
    {
        foreach (int size in _model.WarmSizes)
        {
            using var images = zeros(size, 3, _model.ImageSize, _model.ImageSize);
            lock (_network) _model.Score(images);
        }
        Ready = true;
    }

    /// <summary>Runs other work on the network (a heatmap) between batches, never beside one: two passes would share 2 cores.</summary>
    public T Exclusive<T>(Func<T> work)
    {
        lock (_network) return work();
    }

    /// <summary>Queues the images of one request; null when the queue cannot take them all.</summary>
    public Task<float>[]? TryEnqueue(IReadOnlyList<float[]> images, CancellationToken cancel)
    {
        int queued;
        do
        {
            queued = Volatile.Read(ref _queued);
            if (queued + images.Count > _capacity) return null;
        } while (Interlocked.CompareExchange(ref _queued, queued + images.Count, queued) != queued);
        _metrics.QueueLength.Set(queued + images.Count);

        var results = new Task<float>[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var job = new Job(images[i], new TaskCompletionSource<float>(TaskCreationOptions.RunContinuationsAsynchronously), cancel);
            results[i] = job.Result.Task;
            if (!_jobs.Writer.TryWrite(job)) job.Result.SetException(new ObjectDisposedException(nameof(BatchScorer), "the server is stopping"));
        }
        return results;
    }

    async Task RunAsync()
    {
        var pending = new List<Job>(_maxBatch);
        while (pending.Count > 0 || await _jobs.Reader.WaitToReadAsync())
        {
            await Collect(pending);
            pending.RemoveAll(Dropped);
            if (pending.Count == 0) continue;
            // A TorchSharp engine runs only the batch sizes its warm-up checked: the largest that fits goes now and the
            // rest is first in the next batch (padding instead wasted a quarter of the work at 16 clients).
            int take = _model.OnlyWarmSizes ? _model.WarmSizes.Where(s => s <= pending.Count).DefaultIfEmpty(1).Max() : pending.Count;
            Score(pending.GetRange(0, take));
            pending.RemoveRange(0, take);
        }
    }

    /// <summary>
    /// Adds queued images to <paramref name="pending"/> up to a full batch. A new batch waits up to the maximum wait
    /// after its first image for others; images left over from the last batch go at once with whatever has arrived.
    /// </summary>
    async Task Collect(List<Job> pending)
    {
        bool leftOver = pending.Count > 0;
        using var wait = new CancellationTokenSource(_maxWait);
        while (pending.Count < _maxBatch)
        {
            if (_jobs.Reader.TryRead(out var job))
            {
                _metrics.QueueLength.Set(Interlocked.Decrement(ref _queued));
                pending.Add(job);
                continue;
            }
            if (leftOver || pending.Count == 0) return;
            try
            {
                if (!await _jobs.Reader.WaitToReadAsync(wait.Token)) return;
            }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Whether a job's request has gone (client disconnected or timed out); its image never reaches the network.</summary>
    bool Dropped(Job job)
    {
        if (!job.Cancel.IsCancellationRequested) return false;
        job.Result.TrySetCanceled(job.Cancel);
        _metrics.ImagesCancelled.Inc();
        return true;
    }

    void Score(List<Job> batch)
    {
        int floats = _model.FloatsPerImage;
        var data = new float[batch.Count * floats];
        for (int i = 0; i < batch.Count; i++) batch[i].Chw.CopyTo(data, i * floats);
        try
        {
            float[] scores;
            using (var images = tensor(data, [batch.Count, 3, _model.ImageSize, _model.ImageSize]))
                lock (_network) scores = _model.Score(images);
            _metrics.BatchSize.Observe(batch.Count);
            _metrics.ImagesScored.Inc(batch.Count);
            for (int i = 0; i < batch.Count; i++) batch[i].Result.TrySetResult(scores[i]);
        }
        catch (Exception e)
        {
            foreach (var job in batch) job.Result.TrySetException(e);
        }
    }

    /// <summary>Stops taking images and scores the ones already queued (in-flight requests finish).</summary>
    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        await _worker;
    }
}
