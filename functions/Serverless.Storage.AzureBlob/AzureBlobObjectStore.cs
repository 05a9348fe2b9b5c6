using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Serverless.Core.Errors;
using Serverless.Core.Storage;

namespace Serverless.Storage.AzureBlob;

/// <summary>
/// The core's <see cref="IObjectStore"/> over one Azure Blob container and prefix, through the Azure SDK's
/// <see cref="BlobContainerClient"/> (which owns authentication, retries and request signing). Keys map to
/// blob names as <c>{prefix}/{key}</c>. Verification, caching and single-flight loading stay in the core;
/// this class only moves bytes and turns service failures into <see cref="InferenceException"/>s.
/// </summary>
public sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly string _prefix;

    /// <param name="container">The container; its credential is whatever the client was built with.</param>
    /// <param name="prefix">Blob name prefix without leading or trailing '/', or empty for the container root.</param>
    /// <param name="root">The root as a URI for messages (no secrets); derived from the client when null.</param>
    public AzureBlobObjectStore(BlobContainerClient container, string prefix = "", string? root = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(prefix);
        Container = container;
        _prefix = prefix.Trim('/');
        Root = root ?? container.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + (_prefix.Length == 0 ? "" : "/" + _prefix);
    }

    public string Root { get; }

    public BlobContainerClient Container { get; }

    public string Prefix => _prefix;

    /// <summary>
    /// Teaches <paramref name="resolver"/> the <c>azblob</c> and <c>https</c> schemes (and Azurite's path-style
    /// <c>http</c> URLs go through <see cref="AzureBlobStoreFactory.Create"/> directly), reading settings from
    /// <paramref name="getSetting"/> (the process environment when null) at resolve time.
    /// </summary>
    public static ObjectStoreResolver Register(ObjectStoreResolver resolver, Func<string, string?>? getSetting = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        getSetting ??= Environment.GetEnvironmentVariable;
        IObjectStore Create(Uri root) => AzureBlobStoreFactory.Create(root, getSetting);
        return resolver.Register(AzureBlobStoreFactory.Scheme, Create).Register(Uri.UriSchemeHttps, Create);
    }

    /// <summary>The blob name a key maps to.</summary>
    public string BlobName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || key.StartsWith('/') || key.Split('/').Contains(".."))
        {
            throw InferenceException.BadInput($"'{key}' is not a valid object key in {Root}: keys are relative, use '/' separators and never contain '..'.");
        }

        return _prefix.Length == 0 ? key : _prefix + "/" + key;
    }

    public async Task<ObjectProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken)
    {
        var blob = Container.GetBlobClient(BlobName(key));
        try
        {
            BlobProperties properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ObjectProperties(key, properties.ContentLength, properties.ETag.ToString(), properties.LastModified, properties.VersionId);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode != BlobErrorCode.ContainerNotFound)
        {
            return null;
        }
        catch (Exception ex) when (BlobErrors.IsServiceFailure(ex))
        {
            throw BlobErrors.From(ex, "Get Blob Properties", Container, blob.Name);
        }
    }

    public async Task<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var blob = Container.GetBlobClient(BlobName(key));
        if (length == 0)
        {
            return Stream.Null;
        }

        try
        {
            BlobDownloadStreamingResult result = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, length) }, cancellationToken).ConfigureAwait(false);
            return result.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 416 && length is null && offset > 0)
        {
            // Resuming exactly at the end of a blob (a batch checkpoint at its last line) reads nothing.
            return Stream.Null;
        }
        catch (Exception ex) when (BlobErrors.IsServiceFailure(ex))
        {
            throw BlobErrors.From(ex, "Get Blob", Container, blob.Name);
        }
    }

    public async Task PutAsync(string key, Stream content, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var blob = Container.GetBlobClient(BlobName(key));
        var options = new BlobUploadOptions { HttpHeaders = contentType is null ? null : new BlobHttpHeaders { ContentType = contentType } };
        try
        {
            await blob.UploadAsync(content, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (BlobErrors.IsServiceFailure(ex))
        {
            throw BlobErrors.From(ex, "Put Blob", Container, blob.Name);
        }
    }

    public async IAsyncEnumerable<ObjectProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var full = _prefix.Length == 0 ? prefix : _prefix + "/" + prefix;
        var strip = _prefix.Length == 0 ? 0 : _prefix.Length + 1;
        var pages = Container.GetBlobsAsync(new GetBlobsOptions { Prefix = full }, cancellationToken).AsPages().GetAsyncEnumerator(cancellationToken);
        await using (pages.ConfigureAwait(false))
        {
            while (true)
            {
                Page<BlobItem> page;
                try
                {
                    if (!await pages.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }

                    page = pages.Current;
                }
                catch (Exception ex) when (BlobErrors.IsServiceFailure(ex))
                {
                    throw BlobErrors.From(ex, "List Blobs", Container, null);
                }

                foreach (var item in page.Values)
                {
                    yield return new ObjectProperties(item.Name[strip..], item.Properties.ContentLength ?? 0, item.Properties.ETag?.ToString(), item.Properties.LastModified, item.VersionId);
                }
            }
        }
    }
}
