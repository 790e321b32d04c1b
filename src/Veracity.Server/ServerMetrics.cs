using Prometheus;

namespace Veracity.Server;

/// <summary>
/// The server's Prometheus metrics, in a registry of its own (several servers in one process, as in the tests, do
/// not share counters). Requests by route and status and their latency come from prometheus-net's HTTP middleware
/// on the same registry.
/// </summary>
public sealed class ServerMetrics
{
    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();
    public IMetricFactory Factory { get; }
    public Histogram BatchSize { get; }
    public Gauge QueueLength { get; }
    public Counter ImagesScored { get; }
    public Counter ImagesCancelled { get; }
    public Counter RejectedUploads { get; }
    public Gauge ModelLoadSeconds { get; }

    public ServerMetrics()
    {
        Factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        BatchSize = Factory.CreateHistogram("veracity_batch_size", "Images per pass of the network.",
            new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128] });
        QueueLength = Factory.CreateGauge("veracity_queue_length", "Images waiting for the network.");
        ImagesScored = Factory.CreateCounter("veracity_images_scored_total", "Images the network scored.");
        ImagesCancelled = Factory.CreateCounter("veracity_images_cancelled_total",
            "Queued images dropped because their request was cancelled (client gone or timed out).");
        RejectedUploads = Factory.CreateCounter("veracity_rejected_uploads_total", "Requests refused for their upload, by problem.",
            new CounterConfiguration { LabelNames = ["problem"] });
        ModelLoadSeconds = Factory.CreateGauge("veracity_model_load_seconds", "Time to load the model at start-up.");
    }
}
