using Serverless.Core.Storage;

namespace Serverless.Core.Batch;

/// <summary>
/// One input file to score: where it lives and which revision of it (ETag or version id from the event
/// that announced it, so a redelivered event maps to the same result), and the model to score it with.
/// </summary>
public sealed record BatchJob
{
    public required IObjectStore Store { get; init; }

    /// <summary>Key of the JSON Lines input inside <see cref="Store"/> (already URL-decoded).</summary>
    public required string InputKey { get; init; }

    public string? ETag { get; init; }

    public string? VersionId { get; init; }

    public required string Model { get; init; }

    /// <summary>Model version; null for the manifest's default.</summary>
    public string? ModelVersion { get; init; }
}
