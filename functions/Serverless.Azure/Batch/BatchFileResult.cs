using System.Text.Json.Serialization;

namespace Serverless.Azure.Batch;

/// <summary>How the batch function left one input blob.</summary>
public enum BatchFileStatus
{
    /// <summary>Every line is scored; the result and summary are written.</summary>
    Completed,

    /// <summary>An earlier delivery already scored this exact revision; nothing was redone.</summary>
    AlreadyCompleted,

    /// <summary>Not under the incoming prefix, or deleted before it was scored.</summary>
    Ignored,

    /// <summary>Moved to the poison prefix with its error: no retry can help, or every allowed attempt failed.</summary>
    Poisoned,
}

/// <summary>What happened to one input blob; logged, and returned to tests.</summary>
public sealed record BatchFileResult(BatchFileStatus Status, string Blob)
{
    public string? Model { get; init; }

    public string? Output { get; init; }

    public long Lines { get; init; }

    public long Failed { get; init; }

    /// <summary>Why the file was ignored or poisoned.</summary>
    public string? Reason { get; init; }
}

/// <summary>The failures so far of one input revision, kept beside its checkpoint so they survive restarts.</summary>
public sealed record BatchFailures
{
    public int Attempts { get; init; }

    public string? LastError { get; init; }

    public DateTimeOffset? LastFailedAt { get; init; }
}

/// <summary>Written to <c>poison/&lt;name&gt;.error.json</c> beside the poisoned input.</summary>
public sealed record PoisonRecord
{
    public required string Input { get; init; }

    public string? InputETag { get; init; }

    public string? Model { get; init; }

    public required string PoisonedAs { get; init; }

    public int Attempts { get; init; }

    public required string Error { get; init; }

    public DateTimeOffset PoisonedAt { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BatchFailures))]
[JsonSerializable(typeof(PoisonRecord))]
[JsonSerializable(typeof(string))]
internal sealed partial class AzureJsonContext : JsonSerializerContext;
