namespace Serverless.Storage.AzureBlob;

/// <summary>A blob's name and properties, from List Blobs or Get Blob Properties.</summary>
public sealed record BlobItem(string Name, long Size, string? ETag, DateTimeOffset? LastModified, string? ContentType);

/// <summary>One page of List Blobs; <see cref="NextMarker"/> is null on the last page.</summary>
public sealed record BlobPage(IReadOnlyList<BlobItem> Items, string? NextMarker);
