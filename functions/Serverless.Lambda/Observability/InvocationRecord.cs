namespace Serverless.Lambda.Observability;

/// <summary>What one invocation did, for its single log line and its metrics. Never holds payload data.</summary>
public sealed record InvocationRecord
{
    public required string RequestId { get; init; }
    public string? Model { get; init; }
    public required string Event { get; init; }
    public bool ColdStart { get; init; }
    public int? Status { get; init; }
    public double LoadMilliseconds { get; init; }
    public double RunMilliseconds { get; init; }
    public long Runs { get; init; }
    public double TotalMilliseconds { get; init; }
    public string? TraceId { get; init; }
    /// <summary>Error category when the invocation failed or answered 5xx/4xx (e.g. "InvalidInput", "Unhandled").</summary>
    public string? ErrorType { get; init; }
    public long? BatchRecordsScored { get; init; }
    public long? BatchRecordsFailed { get; init; }
    public long? BatchFilesIncomplete { get; init; }
}
