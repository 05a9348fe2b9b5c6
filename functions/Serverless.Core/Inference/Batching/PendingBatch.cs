namespace Serverless.Core.Inference.Batching;

/// <summary>
/// A batch being formed: the requests that agreed to share one run, their total rows, and the task that
/// wakes the leader early when the batch is full. Guarded by the batcher's lock until it is closed.
/// </summary>
internal sealed class PendingBatch
{
    public List<BatchItem> Items { get; } = new(8);

    public long Rows { get; private set; }

    /// <summary>No longer accepting requests (full, or the leader took it to run).</summary>
    public bool Closed { get; set; }

    /// <summary>Completed when the batch is full. Its continuation (the leader) never runs on the thread that fills it, which holds the batcher's lock.</summary>
    public TaskCompletionSource Full { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
        Full = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
