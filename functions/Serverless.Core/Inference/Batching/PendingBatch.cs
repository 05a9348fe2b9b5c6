namespace Serverless.Core.Inference.Batching;

/// <summary>
/// A batch being formed: the requests that agreed to share one run, their total rows, and the event that
/// wakes the leader early when the batch is full. Guarded by the batcher's lock until it is closed.
/// </summary>
internal sealed class PendingBatch : IDisposable
{
    public List<BatchItem> Items { get; } = new(8);

    public long Rows { get; private set; }

    /// <summary>No longer accepting requests (full, or the leader took it to run).</summary>
    public bool Closed { get; set; }

    public ManualResetEventSlim Full { get; } = new(false, spinCount: 0);

    /// <summary>True when <paramref name="item"/> can join: the same outputs and joinable inputs as the first request.</summary>
    public bool Accepts(BatchItem item)
    {
        var first = Items[0];
        if (!first.Outputs.SequenceEqual(item.Outputs))
        {
            return false;
        }

        for (var i = 0; i < first.Inputs.Length; i++)
        {
            if (!TensorBatching.Joinable(first.Inputs[i], item.Inputs[i]))
            {
                return false;
            }
        }

        return true;
    }

    public void Add(BatchItem item)
    {
        Items.Add(item);
        Rows += item.Rows;
    }

    public void Reset()
    {
        Items.Clear();
        Rows = 0;
        Closed = false;
        Full.Reset();
    }

    public void Dispose() => Full.Dispose();
}
