using System.Text.Json.Serialization;

namespace Serverless.Core.Batch;

/// <summary>
/// Progress saved after every result part: where to resume in the input and which parts hold the lines
/// answered so far. Valid only for the same input revision (<see cref="Tag"/>) and model version.
/// </summary>
public sealed record BatchCheckpoint
{
    public required string InputKey { get; init; }
    public required string Tag { get; init; }
    public required string Model { get; init; }
    public required string ModelVersion { get; init; }
    public long NextOffset { get; init; }
    public long Lines { get; init; }
    public long Failed { get; init; }
    public int Invocations { get; init; }
    public double ScoringMilliseconds { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public IReadOnlyList<BatchPart> Parts { get; init; } = [];
}

/// <summary>One written result part: its key, how many lines it answers, its size.</summary>
public sealed record BatchPart(string Key, long Lines, long Bytes);

/// <summary>Written next to the result once a file is fully scored.</summary>
public sealed record BatchSummary
{
    public required string Input { get; init; }
    public string? InputETag { get; init; }
    public string? InputVersionId { get; init; }
    public required string Output { get; init; }
    public required string Model { get; init; }
    public required string ModelVersion { get; init; }
    public long Lines { get; init; }
    public long Succeeded { get; init; }
    public long Failed { get; init; }
    public long OutputBytes { get; init; }
    public int Invocations { get; init; }
    public double ScoringMilliseconds { get; init; }
    public double WallMilliseconds { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset CompletedAt { get; init; }
    public double RecordsPerSecond { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BatchCheckpoint))]
[JsonSerializable(typeof(BatchSummary))]
internal sealed partial class BatchJsonContext : JsonSerializerContext
{
}
