using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Storage;
using Serverless.Storage.AzureBlob.Auth;
using Serverless.Storage.AzureBlob.Configuration;

namespace Serverless.Storage.AzureBlob;

/// <summary>
/// A small client for the Blob service REST API over one storage account. Every request pins
/// <see cref="BlobServiceVersion.Current"/>, carries x-ms-date and is authorized by an
/// <see cref="IBlobRequestAuthorizer"/>. Failures are <see cref="InferenceException"/>s (see <see cref="BlobErrors"/>).
/// Thread-safe; keep one per account for the life of the process so connections are reused.
/// </summary>
public sealed partial class AzureBlobClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly IBlobRequestAuthorizer _authorizer;
    private readonly AzureBlobClientOptions _options;
    private readonly TimeProvider _time;

    /// <param name="blobEndpoint">The account's blob endpoint, e.g. https://acct.blob.core.windows.net/ or http://127.0.0.1:10000/devstoreaccount1/.</param>
    /// <param name="httpClient">Shared HttpClient; null creates one over a SocketsHttpHandler that this client disposes.</param>
    public AzureBlobClient(Uri blobEndpoint, string accountName, IBlobRequestAuthorizer authorizer, HttpClient? httpClient = null, AzureBlobClientOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(blobEndpoint);
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentNullException.ThrowIfNull(authorizer);
        Endpoint = StorageConnectionString.WithTrailingSlash(blobEndpoint);
        AccountName = accountName;
        _authorizer = authorizer;
        _options = options ?? AzureBlobClientOptions.Default;
        _time = time ?? TimeProvider.System;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? CreateHttpClient(_options);
    }

    public Uri Endpoint { get; }

    public string AccountName { get; }

    /// <summary>The credential kind in use ("Shared Key", "SAS token", "managed identity").</summary>
    public string CredentialKind => _authorizer.Kind;

    /// <summary>A client from a connection string: Shared Key when it has AccountKey, else its SAS.</summary>
    public static AzureBlobClient FromConnectionString(string connectionString, HttpClient? httpClient = null, AzureBlobClientOptions? options = null)
    {
        var parsed = StorageConnectionString.Parse(connectionString);
        IBlobRequestAuthorizer authorizer = parsed.AccountKey is { } key
            ? new SharedKeyAuthorizer(parsed.AccountName, key)
            : new SasAuthorizer(parsed.SharedAccessSignature!);
        return new AzureBlobClient(parsed.BlobEndpoint, parsed.AccountName, authorizer, httpClient, options);
    }

    /// <summary>An HttpClient tuned for storage: pooled connections recycled every few minutes (DNS changes), no decompression.</summary>
    public static HttpClient CreateHttpClient(AzureBlobClientOptions? options = null) =>
        new(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        {
            Timeout = (options ?? AzureBlobClientOptions.Default).Timeout,
        };

    /// <summary>The URL of a blob (or of the container when <paramref name="blob"/> is null), with each path segment escaped.</summary>
    public Uri GetBlobUri(string container, string? blob = null)
    {
        ValidateContainer(container);
        var sb = new StringBuilder(Endpoint.AbsoluteUri).Append(container);
        if (blob is not null)
        {
            ValidateBlob(container, blob);
            foreach (var segment in blob.Split('/'))
            {
                sb.Append('/').Append(Uri.EscapeDataString(segment));
            }
        }

        return new Uri(sb.ToString());
    }

    /// <summary>Get Blob Properties (HEAD): size, ETag, last modified; null when the blob does not exist.</summary>
    public async Task<BlobItem?> GetPropertiesAsync(string container, string blob, CancellationToken cancellationToken = default)
    {
        var uri = GetBlobUri(container, blob);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, uri), "Get Blob Properties", container, blob, tolerated: HttpStatusCode.NotFound, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        return new BlobItem(blob, response.Content.Headers.ContentLength ?? 0, response.Headers.ETag?.Tag, response.Content.Headers.LastModified, response.Content.Headers.ContentType?.ToString());
    }

    /// <summary>
    /// Get Blob, streamed: the returned stream reads from the socket and owns the response (dispose it).
    /// <paramref name="offset"/> and <paramref name="length"/> select a byte range (x-ms-range).
    /// </summary>
    public async Task<Stream> OpenReadAsync(string container, string blob, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "The length must not be negative.");
        }

        if (length == 0)
        {
            return new MemoryStream([], writable: false);
        }

        var uri = GetBlobUri(container, blob);
        var range = offset == 0 && length is null
            ? null
            : length is { } n
                ? string.Create(CultureInfo.InvariantCulture, $"bytes={offset}-{offset + n - 1}")
                : string.Create(CultureInfo.InvariantCulture, $"bytes={offset}-");
        var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, uri);
                if (range is not null)
                {
                    request.Headers.TryAddWithoutValidation("x-ms-range", range);
                }

                return request;
            },
            "Get Blob", container, blob, tolerated: null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            // The stream owns the response, so disposing it returns the connection to the pool.
            return new BoundedReadStream(body, response.Content.Headers.ContentLength, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Put Blob: writes a block blob in one request (up to the service's 5000 MiB; use <see cref="UploadAsync"/> for streams).</summary>
    public async Task PutBlobAsync(string container, string blob, ReadOnlyMemory<byte> content, string? contentType = null, CancellationToken cancellationToken = default)
    {
        var uri = GetBlobUri(container, blob);
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new ReadOnlyMemoryContent(content) };
                request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType ?? "application/octet-stream");
                return request;
            },
            "Put Blob", container, blob, tolerated: null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Put Block: stages one block. <paramref name="blockId"/> must be base64 and the same length for every block of the blob.</summary>
    public async Task PutBlockAsync(string container, string blob, string blockId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(blockId);
        var uri = new Uri(GetBlobUri(container, blob).AbsoluteUri + "?comp=block&blockid=" + Uri.EscapeDataString(blockId));
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Put, uri) { Content = new ReadOnlyMemoryContent(content) },
            "Put Block", container, blob, tolerated: null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Put Block List: commits staged blocks, in order, as the blob's content.</summary>
    public async Task PutBlockListAsync(string container, string blob, IReadOnlyList<string> blockIds, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blockIds);
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        foreach (var id in blockIds)
        {
            xml.Append("<Latest>").Append(id).Append("</Latest>");
        }

        var payload = Encoding.UTF8.GetBytes(xml.Append("</BlockList>").ToString());
        var uri = new Uri(GetBlobUri(container, blob).AbsoluteUri + "?comp=blocklist");
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new ByteArrayContent(payload) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
                request.Headers.TryAddWithoutValidation("x-ms-blob-content-type", contentType ?? "application/octet-stream");
                return request;
            },
            "Put Block List", container, blob, tolerated: null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The block id of block <paramref name="index"/>: base64 of a fixed-length string, as the service requires equal lengths.</summary>
    public static string BlockId(int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(index.ToString("'block-'000000", CultureInfo.InvariantCulture)));

    /// <summary>
    /// Uploads a stream of any length: one Put Blob when it fits in <see cref="AzureBlobClientOptions.SingleUploadLimit"/>,
    /// otherwise Put Block per <see cref="AzureBlobClientOptions.BlockSize"/> and a final Put Block List. Memory
    /// stays at one block (plus the small-upload buffer), whatever the size.
    /// </summary>
    public async Task UploadAsync(string container, string blob, Stream content, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var head = ArrayPool<byte>.Shared.Rent(_options.SingleUploadLimit + 1);
        try
        {
            // One byte past the limit tells a stream that exactly fits from one that continues.
            var filled = await ReadFullyAsync(content, head.AsMemory(0, _options.SingleUploadLimit + 1), cancellationToken).ConfigureAwait(false);
            if (filled <= _options.SingleUploadLimit)
            {
                await PutBlobAsync(container, blob, head.AsMemory(0, filled), contentType, cancellationToken).ConfigureAwait(false);
                return;
            }

            var ids = new List<string>();
            for (var start = 0; start < filled; start += _options.BlockSize)
            {
                var id = BlockId(ids.Count);
                await PutBlockAsync(container, blob, id, head.AsMemory(start, Math.Min(_options.BlockSize, filled - start)), cancellationToken).ConfigureAwait(false);
                ids.Add(id);
            }

            var block = ArrayPool<byte>.Shared.Rent(_options.BlockSize);
            try
            {
                int read;
                while ((read = await ReadFullyAsync(content, block.AsMemory(0, _options.BlockSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    var id = BlockId(ids.Count);
                    await PutBlockAsync(container, blob, id, block.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    ids.Add(id);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(block);
            }

            await PutBlockListAsync(container, blob, ids, contentType, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    /// <summary>Create Container; an existing container is not an error.</summary>
    public async Task CreateContainerIfNotExistsAsync(string container, CancellationToken cancellationToken = default)
    {
        var uri = new Uri(GetBlobUri(container).AbsoluteUri + "?restype=container");
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, uri), "Create Container", container, null, tolerated: HttpStatusCode.Conflict, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Conflict && ErrorCodeOf(response) != "ContainerAlreadyExists")
        {
            throw await BlobErrors.FromResponseAsync(response, AccountName, "Create Container", container, null, CredentialKind, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Delete Blob; a missing blob is not an error.</summary>
    public async Task DeleteBlobAsync(string container, string blob, CancellationToken cancellationToken = default)
    {
        var uri = GetBlobUri(container, blob);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, uri), "Delete Blob", container, blob, tolerated: HttpStatusCode.NotFound, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>List Blobs: one page of blobs whose names start with <paramref name="prefix"/>, continuing from <paramref name="marker"/>.</summary>
    public async Task<BlobPage> ListPageAsync(string container, string? prefix, string? marker = null, int? maxResults = null, CancellationToken cancellationToken = default)
    {
        var query = new StringBuilder("?restype=container&comp=list");
        if (!string.IsNullOrEmpty(prefix))
        {
            query.Append("&prefix=").Append(Uri.EscapeDataString(prefix));
        }

        if (!string.IsNullOrEmpty(marker))
        {
            query.Append("&marker=").Append(Uri.EscapeDataString(marker));
        }

        if (maxResults is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(maxResults));
            query.Append("&maxresults=").Append(max.ToString(CultureInfo.InvariantCulture));
        }

        var uri = new Uri(GetBlobUri(container).AbsoluteUri + query);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), "List Blobs", container, null, tolerated: null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await BlobListParser.ParseAsync(body, container, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every blob under <paramref name="prefix"/>, following NextMarker page by page.</summary>
    public async IAsyncEnumerable<BlobItem> ListAsync(string container, string? prefix, int? pageSize = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? marker = null;
        do
        {
            var page = await ListPageAsync(container, prefix, marker, pageSize, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            marker = page.NextMarker;
        }
        while (!string.IsNullOrEmpty(marker));
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        (_authorizer as IDisposable)?.Dispose();
    }

    private static async Task<int> ReadFullyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private static void ValidateContainer(string container)
    {
        ArgumentException.ThrowIfNullOrEmpty(container);
        if (container.Contains('/', StringComparison.Ordinal) || container.Length > 63)
        {
            throw InferenceException.BadInput($"'{container}' is not a valid container name: use 3 to 63 lowercase letters, digits and hyphens.");
        }
    }

    private static void ValidateBlob(string container, string blob)
    {
        if (blob.Length == 0 || blob.Length > 1024)
        {
            throw InferenceException.BadInput($"A blob name in container '{container}' must have 1 to 1024 characters (got {blob.Length}).");
        }
    }
}
