namespace Serverless.Core.Inference.Batching;

/// <summary>
/// Receives what a <see cref="DynamicBatcher"/> does, so a host can publish metrics without the core
/// knowing any metrics library. Called on request threads; implementations must be thread-safe and fast.
/// </summary>
public interface IBatchObserver
{
    /// <summary>A request left the queue and its run starts; <paramref name="queueTime"/> is how long it waited.</summary>
    void RequestStarted(string model, TimeSpan queueTime);

    /// <summary>A run finished. <paramref name="requests"/> callers and <paramref name="rows"/> rows shared it.</summary>
    void RunCompleted(string model, int requests, long rows, TimeSpan computeTime, bool failed);

    /// <summary>A request was refused because the model's queue was full.</summary>
    void RequestRejected(string model);
}
