using System.Runtime.CompilerServices;
using Serverless.Core.Errors;
using Serverless.Core.Storage;

namespace Serverless.Storage.AzureBlob;

/// <summary>
/// The core's <see cref="IObjectStore"/> over one Azure Blob container and prefix. Keys map to blob names
/// as <c>{prefix}/{key}</c>. Verification, caching and single-flight loading stay in the core; this class
/// only moves bytes.
/// </summary>
public sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly string _prefix;

    /// <param name="prefix">Blob name prefix without leading or trailing '/', or empty for the container root.</param>
    /// <param name="root">The root as a URI for messages (no secrets); derived from the client when null.</param>
    public AzureBlobObjectStore(AzureBlobClient client, string container, string prefix = "", string? root = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(container);
        ArgumentNullException.ThrowIfNull(prefix);
        Client = client;
        Container = container;
        _prefix = prefix.Trim('/');
        Root = root ?? client.GetBlobUri(container).AbsoluteUri + (_prefix.Length == 0 ? "" : "/" + _prefix);
    }

    public string Root { get; }

    /// <summary>
    /// Teaches <paramref name="resolver"/> the <c>azblob</c> and <c>https</c> schemes, reading credentials
    /// from <paramref name="getSetting"/> (the process environment when null) at resolve time.
    /// </summary>
    public static ObjectStoreResolver Register(ObjectStoreResolver resolver, Func<string, string?>? getSetting = null, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        getSetting ??= Environment.GetEnvironmentVariable;
        IObjectStore Create(Uri root) => AzureBlobStoreFactory.Create(root, getSetting, httpClient);
        return resolver.Register(AzureBlobStoreFactory.Scheme, Create).Register(Uri.UriSchemeHttps, Create);
    }

    public AzureBlobClient Client { get; }

    public string Container { get; }

    public string Prefix => _prefix;

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
        var item = await Client.GetPropertiesAsync(Container, BlobName(key), cancellationToken).ConfigureAwait(false);
        return item is null ? null : new ObjectProperties(key, item.Size, item.ETag, item.LastModified);
    }

    public Task<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        Client.OpenReadAsync(Container, BlobName(key), offset, length, cancellationToken);

    public Task PutAsync(string key, Stream content, string? contentType = null, CancellationToken cancellationToken = default) =>
        Client.UploadAsync(Container, BlobName(key), content, contentType, cancellationToken);

    public async IAsyncEnumerable<ObjectProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var full = _prefix.Length == 0 ? prefix : _prefix + "/" + prefix;
        var strip = _prefix.Length == 0 ? 0 : _prefix.Length + 1;
        await foreach (var item in Client.ListAsync(Container, full, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return new ObjectProperties(item.Name[strip..], item.Size, item.ETag, item.LastModified);
        }
    }
}
