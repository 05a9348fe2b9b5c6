using System.Text.Json;
using Serverless.Storage.AzureBlob.Configuration;

namespace Serverless.Azure.Batch;

/// <summary>
/// The parts of an Event Grid <c>Microsoft.Storage.BlobCreated</c> event the batch function needs, read
/// from either schema: Event Grid (<c>eventType</c>, <c>data.url</c>, <c>data.eTag</c>) or CloudEvents 1.0
/// (<c>type</c>, same <c>data</c>). The blob URL is split into its container root and URL-decoded key.
/// </summary>
internal sealed record BlobCreatedEvent(string Id, string EventType, Uri? Url, string? ETag)
{
    public const string BlobCreatedType = "Microsoft.Storage.BlobCreated";

    public bool IsBlobCreated => EventType == BlobCreatedType;

    public static BlobCreatedEvent Parse(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"An Event Grid event must be a JSON object, not {e.ValueKind}.");
        }

        var type = Text(e, "eventType") ?? Text(e, "type") ?? string.Empty;
        var id = Text(e, "id") ?? string.Empty;
        Uri? url = null;
        string? eTag = null;
        if (e.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object)
        {
            if (Text(data, "url") is { } text)
            {
                url = Uri.TryCreate(text, UriKind.Absolute, out var parsed) ? parsed : throw new FormatException($"Event {id}: data.url '{text}' is not an absolute URL.");
            }

            eTag = Text(data, "eTag") ?? Text(data, "etag");
        }

        return new BlobCreatedEvent(id, type, url, eTag);
    }

    /// <summary>
    /// Splits a blob URL into the container's root URL and the blob name (decoded): host style
    /// (https://acct.blob.core.windows.net/c/k) or Azurite's path style (http://127.0.0.1:10000/acct/c/k).
    /// </summary>
    public static (Uri ContainerRoot, string Key) SplitBlobUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var skip = StorageConnectionString.IsPathStyle(url) ? 1 : 0;
        var segments = url.AbsolutePath.TrimStart('/').Split('/');
        if (segments.Length < skip + 2 || segments[skip].Length == 0 || segments[^1].Length == 0)
        {
            throw new FormatException($"'{url.GetLeftPart(UriPartial.Path)}' is not a blob URL (expected .../<container>/<blob>).");
        }

        var root = new Uri(url.GetLeftPart(UriPartial.Authority) + "/" + string.Join('/', segments[..(skip + 1)]));
        var key = string.Join('/', segments[(skip + 1)..].Select(Uri.UnescapeDataString));
        return (root, key);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
