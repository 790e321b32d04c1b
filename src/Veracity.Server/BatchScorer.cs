using System.Threading.Channels;
using Veracity.Data;

namespace Veracity.Server;

/// <summary>
/// The network the server runs: a batch of preprocessed images (N×3×S×S) to deepfake probabilities, and the batch
/// sizes it is warmed for. TorchSharp engines check each convolution shape against float64 the first time it runs
/// (batch size included), so they run only sizes that the warm-up has already checked; ONNX Runtime takes any size.
/// </summary>
public sealed record BatchModel(Func<PixelBatch, float[]> Score, int ImageSize, IReadOnlyList<int> WarmSizes, bool OnlyWarmSizes)
{
    public int FloatsPerImage => 3 * ImageSize * ImageSize;
}

/// <summary>
/// Micro-batching: concurrent requests queue their images, and one worker scores up to <c>maxBatch</c> of them at a
/// time, waiting at most <c>maxWait</c> after the first for others to join. Other work on the network (a heatmap)
/// goes through the same queue and runs between batches. The queue is bounded: a request first reserves its places
/// (<see cref="TryReserve"/>), before it decodes anything, and a request that cannot get them is refused whole.
/// Work whose request was cancelled (client gone, timeout) is dropped before it reaches the network. If the worker
/// itself dies, every waiting request fails at once, <see cref="Failure"/> says why, and <c>onFailure</c> is told
/// (the server stops with a non-zero code, so a supervisor restarts it).
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
    readonly List<ImageJob> _pending;
    int _reserved;

    abstract record Job(CancellationToken Cancel)
    {
        public abstract void Fail(Exception e);
        public abstract void Cancelled();
    }

    sealed record ImageJob(float[] Chw, TaskCompletionSource<float> Result, CancellationToken Cancel) : Job(Cancel)
    {
        public override void Fail(Exception e) => Result.TrySetException(e);
        public override void Cancelled() => Result.TrySetCanceled(Cancel);
    }

    sealed record WorkJob(Action Run, Action<Exception> OnFail, Action OnCancel, CancellationToken Cancel) : Job(Cancel)
    {
        public override void Fail(Exception e) => OnFail(e);
        public override void Cancelled() => OnCancel();
    }

    public BatchScorer(BatchModel model, ServeOptions options, ServerMetrics metrics, Action<Exception>? onFailure = null)
    {
        _model = model;
        _maxBatch = options.MaxBatch;
        _capacity = options.QueueCapacity;
        _maxWait = options.MaxWait;
        _metrics = metrics;
        _pending = new List<ImageJob>(_maxBatch);
        _worker = Task.Run(async () =>
        {
            try
            {
                await RunAsync();
            }
            catch (Exception e)
            {
                Failure = e;
                _jobs.Writer.TryComplete(e);
                foreach (var job in _pending) job.Fail(WorkerDied(e));
                while (_jobs.Reader.TryRead(out var job)) job.Fail(WorkerDied(e));
                onFailure?.Invoke(e);
            }
        });
    }

    /// <summary>Places taken in the queue: reserved by requests still preparing, or holding work for the network.</summary>
    public int Queued => Volatile.Read(ref _reserved);
    public int Capacity => _capacity;

    /// <summary>Whether the warm-up batches have run and the worker is alive: the server reports ready only then.</summary>
    public bool Ready => _warm && Failure is null;
    volatile bool _warm;

    /// <summary>Why the worker died, or null while it runs.</summary>
    public Exception? Failure { get; private set; }

    static ScorerStoppedException WorkerDied(Exception e) => new($"the scoring worker has stopped ({e.GetType().Name}: {e.Message})", e);

    /// <summary>Runs one batch of each warm size through the network (and its convolution checks) before traffic arrives.</summary>
    public void WarmUp()
    {
        foreach (int size in _model.WarmSizes)
        {
            var images = new PixelBatch(new float[size * _model.FloatsPerImage], size, _model.ImageSize, _model.ImageSize);
            lock (_network) _model.Score(images);
        }
        _warm = true;
    }

    /// <summary>
    /// Places in the queue for <paramref name="count"/> pieces of work; null when the queue cannot hold them now.
    /// Dispose the reservation when the request ends: places not yet handed to the worker are given back.
    /// </summary>
    public Reservation? TryReserve(int count) => TryTake(count) ? new Reservation(this, count) : null;

    bool TryTake(int count)
    {
        if (Failure is { } failure) throw WorkerDied(failure);
        int reserved;
        do
        {
            reserved = Volatile.Read(ref _reserved);
            if (reserved + count > _capacity) return false;
        } while (Interlocked.CompareExchange(ref _reserved, reserved + count, reserved) != reserved);
        _metrics.QueueLength.Set(reserved + count);
        return true;
    }

    void Give(int count) => _metrics.QueueLength.Set(Interlocked.Add(ref _reserved, -count));

    /// <summary>A request's places in the queue.</summary>
    public sealed class Reservation(BatchScorer scorer, int count) : IDisposable
    {
        int _left = count;

        /// <summary>Takes <paramref name="more"/> places besides (a picture had more faces than reserved for); false when the queue is full.</summary>
        public bool TryGrow(int more)
        {
            if (!scorer.TryTake(more)) return false;
            _left += more;
            return true;
        }

        /// <summary>Queues images on places of this reservation; each task gives the image's deepfake probability.</summary>
        public Task<float>[] Score(IReadOnlyList<float[]> images, CancellationToken cancel)
        {
            Spend(images.Count);
            return images.Select(chw =>
            {
                var job = new ImageJob(chw, new TaskCompletionSource<float>(TaskCreationOptions.RunContinuationsAsynchronously), cancel);
                scorer.Write(job);
                return job.Result.Task;
            }).ToArray();
        }

        /// <summary>Runs <paramref name="work"/> on the network between batches, on one place of this reservation.</summary>
        public Task<T> Run<T>(Func<T> work, CancellationToken cancel)
        {
            Spend(1);
            var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            scorer.Write(new WorkJob(() => result.TrySetResult(scorer.Exclusive(work)), e => result.TrySetException(e),
                () => result.TrySetCanceled(cancel), cancel));
            return result.Task;
        }

        void Spend(int places)
        {
            if (places > _left) throw new InvalidOperationException($"{places} pieces of work on {_left} reserved places");
            _left -= places;
        }

        public void Dispose()
        {
            scorer.Give(_left);
            _left = 0;
        }
    }

    void Write(Job job)
    {
        if (!_jobs.Writer.TryWrite(job))
        {
            Give(1);
            job.Fail(Failure is { } failure ? WorkerDied(failure) : new ScorerStoppedException("the server is stopping"));
        }
    }

    T Exclusive<T>(Func<T> work)
    {
        lock (_network) return work();
    }

    async Task RunAsync()
    {
        var pending = _pending;
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
    /// Adds queued images to <paramref name="pending"/> up to a full batch; other work runs as it is read. A new batch
    /// waits up to the maximum wait after its first image for others; images left over from the last batch go at
    /// once with whatever has arrived.
    /// </summary>
    async Task Collect(List<ImageJob> pending)
    {
        bool leftOver = pending.Count > 0;
        using var wait = new CancellationTokenSource(_maxWait);
        while (pending.Count < _maxBatch)
        {
            if (_jobs.Reader.TryRead(out var job))
            {
                Give(1);
                if (job is ImageJob image) pending.Add(image);
                else if (!Dropped(job)) RunWork((WorkJob)job);
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

    /// <summary>Whether a job's request has gone (client disconnected or timed out); it never reaches the network.</summary>
    bool Dropped(Job job)
    {
        if (!job.Cancel.IsCancellationRequested) return false;
        job.Cancelled();
        if (job is ImageJob) _metrics.ImagesCancelled.Inc();
        return true;
    }

    /// <summary>
    /// A failure of one piece of work fails its request only; running out of memory is not that request's fault and
    /// leaves the process in no state to go on, so it ends the worker.
    /// </summary>
    static bool FailsOnlyItsRequest(Exception e) => e is not OutOfMemoryException;

    static void RunWork(WorkJob job)
    {
        try
        {
            job.Run();
        }
        catch (Exception e) when (FailsOnlyItsRequest(e))
        {
            job.Fail(e);
        }
        catch (Exception e)
        {
            job.Fail(WorkerDied(e));
            throw;
        }
    }

    void Score(List<ImageJob> batch)
    {
        int floats = _model.FloatsPerImage;
        var data = new float[batch.Count * floats];
        for (int i = 0; i < batch.Count; i++) batch[i].Chw.CopyTo(data, i * floats);
        try
        {
            float[] scores;
            var images = new PixelBatch(data, batch.Count, _model.ImageSize, _model.ImageSize);
            lock (_network) scores = _model.Score(images);
            _metrics.BatchSize.Observe(batch.Count);
            _metrics.ImagesScored.Inc(batch.Count);
            for (int i = 0; i < batch.Count; i++) batch[i].Result.TrySetResult(scores[i]);
        }
        catch (Exception e) when (FailsOnlyItsRequest(e))
        {
            foreach (var job in batch) job.Fail(e);
        }
    }

    /// <summary>Stops taking work and finishes what is already queued (in-flight requests finish).</summary>
    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        await _worker;
    }
}

/// <summary>The scorer takes no more work: the server is stopping, or its worker died (the server then stops too).</summary>
public sealed class ScorerStoppedException(string message, Exception? cause = null) : Exception(message, cause);
