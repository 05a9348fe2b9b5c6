using System.Text.Json.Serialization;

namespace Serverless.Lambda.Batch;

/// <summary>Body of a continuation marker object: which input revision to resume.</summary>
public sealed record ContinuationMarker
{
    [JsonPropertyName("key")] public required string Key { get; init; }
    [JsonPropertyName("eTag")] public string? ETag { get; init; }
    [JsonPropertyName("versionId")] public string? VersionId { get; init; }
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>Segment that marks continuation objects; inputs under it are never scored themselves.</summary>
    public const string Folder = ".continue/";

    public static bool IsMarkerKey(string key) =>
        key.Contains("/" + Folder, StringComparison.Ordinal) || key.StartsWith(Folder, StringComparison.Ordinal);

    /// <summary>The marker key for an input: in the input's folder, named after the job's tag.</summary>
    public static string KeyFor(string inputKey, string tag)
    {
        var slash = inputKey.LastIndexOf('/');
        var folder = slash >= 0 ? inputKey[..(slash + 1)] : string.Empty;
        return folder + Folder + tag + ".json";
    }
}
