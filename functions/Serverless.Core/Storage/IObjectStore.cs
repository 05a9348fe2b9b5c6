namespace Serverless.Core.Storage;

/// <summary>
/// The object-store seam: a flat namespace of keys under one root (a local folder, an S3 bucket and
/// prefix, an Azure Blob container and prefix). Keys use '/' separators and never contain "..".
/// Implementations throw <see cref="Errors.InferenceException"/> with NotFound for a missing object
/// and StorageUnavailable for an unreachable or refusing store.
/// </summary>
public interface IObjectStore
{
    /// <summary>The root as a URI, for messages and logs (no secrets).</summary>
    string Root { get; }

    /// <summary>The object's properties, or null when it does not exist.</summary>
    Task<ObjectProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken);

    /// <summary>Opens the object for streaming, optionally from <paramref name="offset"/> for <paramref name="length"/> bytes.</summary>
    Task<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>Writes the object from <paramref name="content"/>, replacing any previous one.</summary>
    Task PutAsync(string key, Stream content, string? contentType = null, CancellationToken cancellationToken = default);

    /// <summary>Lists objects whose key starts with <paramref name="prefix"/>.</summary>
    IAsyncEnumerable<ObjectProperties> ListAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>What a store knows about an object.</summary>
public sealed record ObjectProperties(string Key, long Size, string? ETag = null, DateTimeOffset? LastModified = null, string? VersionId = null);
