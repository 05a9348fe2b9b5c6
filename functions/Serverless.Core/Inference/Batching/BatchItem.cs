using Serverless.Core.Tensors;

namespace Serverless.Core.Inference.Batching;

/// <summary>
/// One caller's request inside a <see cref="DynamicBatcher"/>: its inputs in the model's order (the caller's
/// tensors, valid because the caller blocks until <see cref="Done"/> completes), the outputs it asked for, and where
/// the leader puts its results or its error. Reused through the batcher's pool.
/// </summary>
internal sealed class BatchItem : IDisposable
{
    public BatchItem(int inputCount, int outputCount)
    {
        Inputs = new HostTensor[inputCount];
        OutputIndices = new int[outputCount];
        Results = new IOutputTensor?[outputCount];
    }

    public HostTensor[] Inputs { get; }

    public int[] OutputIndices { get; }

    public IOutputTensor?[] Results { get; }

    public int OutputCount { get; private set; }

    public long Rows { get; private set; }

    /// <summary>Stopwatch timestamp of when the request joined the queue.</summary>
    public long EnqueuedAt { get; private set; }

    /// <summary>The failure to rethrow on the caller's thread; null on success.</summary>
    public Exception? Error { get; set; }

    /// <summary>
    /// Completed by the leader once <see cref="Results"/> or <see cref="Error"/> is final; a fresh one per request,
    /// because the caller waits on its task (a wait the thread pool compensates for, unlike an event's).
    /// </summary>
    public TaskCompletionSource Done { get; private set; } = new();

    public ReadOnlySpan<int> Outputs => OutputIndices.AsSpan(0, OutputCount);

    public Span<IOutputTensor?> OutputResults => Results.AsSpan(0, OutputCount);

    public void Prepare(ReadOnlySpan<int> outputIndices, long rows, long enqueuedAt)
    {
        outputIndices.CopyTo(OutputIndices);
        OutputCount = outputIndices.Length;
        Rows = rows;
        EnqueuedAt = enqueuedAt;
        Error = null;
        Done = new();
    }

    /// <summary>Forgets the caller's tensors (they are the caller's to return) and any results not handed over.</summary>
    public void Clear()
    {
        Array.Clear(Inputs);
        foreach (var result in Results)
        {
            result?.Dispose();
        }

        Array.Clear(Results);
        Error = null;
    }

    public void Dispose() => Clear();
}
