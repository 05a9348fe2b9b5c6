using System.Text.Json.Serialization;

namespace Serverless.Lambda.Batch;

/// <summary>Response of a direct S3 invocation: what happened to each file.</summary>
public sealed record BatchInvocationResult
{
    [JsonPropertyName("files")] public IReadOnlyList<BatchFileResult> Files { get; init; } = [];
}

/// <summary>One file's outcome in this invocation.</summary>
public sealed record BatchFileResult
{
    [JsonPropertyName("key")] public required string Key { get; init; }
    /// <summary>"Completed", "AlreadyCompleted", "Incomplete" or "Ignored".</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("lines")] public long Lines { get; init; }
    [JsonPropertyName("failed")] public long Failed { get; init; }
    [JsonPropertyName("totalLines")] public long TotalLines { get; init; }
    [JsonPropertyName("output")] public string? Output { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
}
