using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Serverless.Core.Errors;

namespace Serverless.Storage.AzureBlob;

/// <summary>Reads a List Blobs response (EnumerationResults XML) into a <see cref="BlobPage"/>.</summary>
internal static class BlobListParser
{
    public static async Task<BlobPage> ParseAsync(Stream xml, string container, CancellationToken cancellationToken)
    {
        XDocument document;
        try
        {
            document = await XDocument.LoadAsync(xml, LoadOptions.None, cancellationToken).ConfigureAwait(false);
        }
        catch (XmlException ex)
        {
            throw new InferenceException(ErrorCode.StorageUnavailable, $"List Blobs of container '{container}' returned XML we cannot read ({ex.Message}).", ex);
        }

        var root = document.Root;
        if (root is null || root.Name.LocalName != "EnumerationResults")
        {
            throw new InferenceException(ErrorCode.StorageUnavailable, $"List Blobs of container '{container}' returned <{root?.Name.LocalName}> instead of <EnumerationResults>; is the endpoint a Blob service?");
        }

        var items = new List<BlobItem>();
        foreach (var blob in root.Element("Blobs")?.Elements("Blob") ?? [])
        {
            var name = blob.Element("Name")?.Value;
            if (string.IsNullOrEmpty(name))
            {
                continue;
            }

            var properties = blob.Element("Properties");
            var size = long.TryParse(properties?.Element("Content-Length")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
            DateTimeOffset? modified = DateTimeOffset.TryParse(properties?.Element("Last-Modified")?.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var m) ? m : null;
            var contentType = properties?.Element("Content-Type")?.Value;
            items.Add(new BlobItem(name, size, properties?.Element("Etag")?.Value, modified, string.IsNullOrEmpty(contentType) ? null : contentType));
        }

        var next = root.Element("NextMarker")?.Value;
        return new BlobPage(items, string.IsNullOrEmpty(next) ? null : next);
    }
}
