using Veracity.Inference;

namespace Veracity.Server;

/// <summary>How <c>veracity serve</c> runs: the model, where it listens, how it batches, and its limits on untrusted input.</summary>
public sealed record ServeOptions
{
    public required string Model { get; init; }
    /// <summary>The built-in detector's manifest when <see cref="Model"/> is it: the model card says what it was trained on.</summary>
    public BuiltInModel? BuiltIn { get; init; }
    public Engine Engine { get; init; } = Engine.Auto;
    /// <summary>Loopback only unless the user says otherwise.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";
    /// <summary>Most images scored in one pass of the network.</summary>
    public int MaxBatch { get; init; } = 32;
    /// <summary>How long the first image of a batch waits for others to join it.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(10);
    /// <summary>
    /// Images that may wait for the network; a request that would overflow it gets 503 with Retry-After, and one with
    /// more images (or faces) than it holds at all gets 413.
    /// </summary>
    public int QueueCapacity { get; init; } = 256;
    /// <summary>Requests admitted at once (reading, decoding or waiting for the network); more get 503 with Retry-After.</summary>
    public int MaxConcurrentRequests { get; init; } = 16;
    /// <summary>
    /// Request bodies admitted at once, by their declared length (one without a length counts as
    /// <see cref="MaxRequestBytes"/>); a request that does not fit gets 503 with Retry-After.
    /// </summary>
    public long MaxBytesInFlight { get; init; } = 512L * 1024 * 1024;
    /// <summary>Pictures decoded at once: one per core, so pixels in flight stay under this many times <see cref="MaxPixels"/>.</summary>
    public int DecodeSlots { get; init; } = Environment.ProcessorCount;
    /// <summary>Open connections Kestrel keeps; beyond that it refuses them before reading a byte.</summary>
    public long MaxConnections { get; init; } = 256;
    /// <summary>When set, <c>/api/*</c> needs <c>Authorization: Bearer</c> with this key.</summary>
    public string? ApiKey { get; init; }
    /// <summary>With an API key, <c>/metrics</c> and the API description (<c>/openapi</c>) need it too.</summary>
    public bool ProtectMetrics { get; init; }
    /// <summary>
    /// Addresses of reverse proxies whose <c>X-Forwarded-For</c> names the client, so the rate limit counts clients, not
    /// the proxy; empty: the peer address is the client.
    /// </summary>
    public IReadOnlyList<string> ForwardedFrom { get; init; } = [];
    public long MaxFileBytes { get; init; } = 20L * 1024 * 1024;
    public int MaxFiles { get; init; } = 16;
    /// <summary>Checked from the header before any pixel is decoded.</summary>
    public long MaxPixels { get; init; } = 40_000_000;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>API requests per client address per minute; 0 = no limit.</summary>
    public int RateLimitPerMinute { get; init; }
    /// <summary>How long a stopping server (SIGTERM) lets in-flight requests finish.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Test-time views per image; null: the model's own (<see cref="Checkpoints.TrainConfig.TestViews"/>).</summary>
    public int? Tta { get; init; }
    /// <summary>true: score each face; false: whole pictures; null: as the checkpoint was trained.</summary>
    public bool? Faces { get; init; }

    /// <summary>The whole request body: every file at its limit plus room for the multipart framing.</summary>
    public long MaxRequestBytes => MaxFiles * MaxFileBytes + 1024 * 1024;

    /// <summary>
    /// What the limits bound beyond the model itself, in bytes: the bodies in flight, the pictures being decoded
    /// (4 bytes a pixel for the decoder's RGBA and 3 for the RGB copy), and the network's inputs in the queue.
    /// </summary>
    public long WorkingMemoryBound(int imageSize) => MaxBytesInFlight + DecodeSlots * MaxPixels * 7 + (long)QueueCapacity * 3 * imageSize * imageSize * 4;

    /// <summary>What is wrong with these settings, or null: each names the option to change.</summary>
    public string? Problem =>
        MaxBatch < 1 ? "--max-batch must be at least 1"
        : MaxWait < TimeSpan.Zero ? "--max-wait-ms cannot be negative"
        : QueueCapacity < MaxBatch ? "--queue must hold at least one batch (--max-batch)"
        : QueueCapacity < MaxFiles ? $"--queue ({QueueCapacity}) must hold a request of --max-files ({MaxFiles}) pictures, or such a request could never be scored"
        : MaxFileBytes <= 0 || MaxFiles < 1 || MaxPixels <= 0 ? "--max-file-mb, --max-files and --max-megapixels must be positive"
        : MaxConcurrentRequests < 1 ? "--max-requests must be at least 1"
        : MaxBytesInFlight < MaxRequestBytes
            ? $"--max-mb-in-flight ({MaxBytesInFlight / 1048576.0:0} MB) must hold one request of --max-files × --max-file-mb ({MaxRequestBytes / 1048576.0:0} MB)"
        : DecodeSlots < 1 ? "decode slots must be at least 1"
        : RequestTimeout <= TimeSpan.Zero ? "--timeout-s must be positive"
        : RateLimitPerMinute < 0 ? "--rate-limit cannot be negative"
        : ProtectMetrics && ApiKey is null ? "--protect-metrics needs an API key (--api-key or $VERACITY_API_KEY)"
        : ForwardedFrom.FirstOrDefault(a => !System.Net.IPAddress.TryParse(a, out _)) is { } bad ? $"--forwarded-from: '{bad}' is not an IP address"
        : Tta is < 1 or > Models.Scoring.MaxViews ? $"--tta must be 1 to {Models.Scoring.MaxViews} (the plain picture and its flips)"
        : null;
}
