namespace Serverless.Core.Batch;

/// <summary>How a <see cref="BatchScorer.ScoreAsync"/> call ended.</summary>
public enum BatchStatus
{
    /// <summary>Every line is scored; the result and summary objects are written.</summary>
    Completed,
    /// <summary>A summary for this exact input revision and model version already existed; nothing was redone.</summary>
    AlreadyCompleted,
    /// <summary>The deadline came first: progress is checkpointed and the host must arrange a continuation.</summary>
    Incomplete,
}

/// <summary>The outcome of one scoring call, with this call's counts and the keys involved.</summary>
public sealed record BatchOutcome(BatchStatus Status, BatchKeys Keys)
{
    /// <summary>Lines answered during this call (successes and error lines).</summary>
    public long LinesThisCall { get; init; }

    /// <summary>Error lines written during this call.</summary>
    public long FailedThisCall { get; init; }

    /// <summary>Lines answered over all calls so far.</summary>
    public long TotalLines { get; init; }

    public long TotalFailed { get; init; }

    /// <summary>Input byte offset the next call resumes from (end of file when complete).</summary>
    public long NextOffset { get; init; }
}
