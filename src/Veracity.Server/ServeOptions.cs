using Veracity.Inference;

namespace Veracity.Server;

/// <summary>How <c>veracity serve</c> runs: the model, where it listens, how it batches, and its limits on untrusted input.</summary>
public sealed record ServeOptions
{
    public required string Model { get; init; }
    public Engine Engine { get; init; } = Engine.Auto;
    /// <summary>Loopback only unless the user says otherwise.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";
    /// <summary>Most images scored in one pass of the network.</summary>
    public int MaxBatch { get; init; } = 32;
    /// <summary>How long the first image of a batch waits for others to join it.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(10);
    /// <summary>Images that may wait for the network; a request that would overflow it gets 503 with Retry-After.</summary>
    public int QueueCapacity { get; init; } = 256;
    /// <summary>When set, <c>/api/*</c> needs <c>Authorization: Bearer</c> with this key.</summary>
    public string? ApiKey { get; init; }
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
}
