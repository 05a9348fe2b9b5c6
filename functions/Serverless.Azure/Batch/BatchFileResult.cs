namespace Serverless.Azure.Batch;

/// <summary>What happened to one event's blob; becomes one entry of the invocation's ReturnValue.</summary>
internal sealed record BatchFileResult
{
    public required string Status { get; init; }

    public string? Blob { get; init; }

    public string? Model { get; init; }

    public string? Output { get; init; }

    public string? Summary { get; init; }

    public long Lines { get; init; }

    public long Failed { get; init; }

    /// <summary>Why the file was ignored, rejected or failed.</summary>
    public string? Reason { get; init; }
}

/// <summary>The outcome of one invocation: per-file results and whether the host should fail it so Event Grid redelivers.</summary>
internal sealed record BatchInvocationOutcome(IReadOnlyList<BatchFileResult> Files, bool Retry);
