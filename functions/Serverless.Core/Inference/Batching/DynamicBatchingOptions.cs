namespace Serverless.Core.Inference.Batching;

/// <summary>
/// How a <see cref="DynamicBatcher"/> forms batches and limits its queue (Triton's <c>dynamic_batching</c>
/// and <c>max_queue_size</c>). The defaults suit a GPU server: a 2 ms wait costs little latency next to a
/// run, one run at a time per model keeps the device from being oversubscribed, and the queue bound turns
/// overload into a quick 503 the load balancer can retry elsewhere rather than a growing latency.
/// </summary>
public sealed record DynamicBatchingOptions
{
    /// <summary>Longest time the first request of a batch waits for others to join it.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Rows per joined run; null uses the manifest's <c>maxBatchSize</c> (0 or 1 there turns batching off).</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>Requests per model that may wait or run at once; one more is refused with Overloaded (503 + Retry-After).</summary>
    public int MaxQueuedRequests { get; init; } = 256;

    /// <summary>Runs per model at once. Batches keep filling while they wait for a free run, as in Triton.</summary>
    public int MaxConcurrentRuns { get; init; } = 1;

    /// <summary>The Retry-After a refused request is given.</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>
    /// What a failed joined run does. False (default, as Triton): every caller in the batch gets the error,
    /// which is quick when the failure is systemic (device out of memory, broken session). True: the
    /// requests are run again one at a time, so a request whose values break the run fails alone.
    /// </summary>
    public bool RetryFailedBatchesSeparately { get; init; }

    /// <summary>Receives queue and run figures (the GPU server's metrics); null for none.</summary>
    public IBatchObserver? Observer { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDelay, TimeSpan.Zero, nameof(MaxDelay));
        if (MaxBatchSize is { } size)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(size, nameof(MaxBatchSize));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedRequests, 1, nameof(MaxQueuedRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRuns, 1, nameof(MaxConcurrentRuns));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryAfterSeconds, 1, nameof(RetryAfterSeconds));
    }
}
