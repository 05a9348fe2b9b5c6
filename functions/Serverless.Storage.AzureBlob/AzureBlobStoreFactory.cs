using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Serverless.Core.Errors;

namespace Serverless.Storage.AzureBlob;

/// <summary>
/// Builds an <see cref="AzureBlobObjectStore"/> from a model-store URI and the app settings. Accepted roots:
/// <c>azblob://container/prefix</c> (the account comes from the settings),
/// <c>https://account.blob.core.windows.net/container/prefix[?sas]</c>, and Azurite's path style
/// <c>http://127.0.0.1:10000/devstoreaccount1/container/prefix</c>. The credential, in this order: a SAS in the
/// URI; the <c>AzureWebJobsStorage</c> connection string when it names the same account (Azurite, development,
/// key-based apps); otherwise <see cref="DefaultAzureCredential"/>, which is the managed identity on Azure.
/// </summary>
public static class AzureBlobStoreFactory
{
    public const string Scheme = "azblob";

    /// <summary>The Functions host's storage setting, reused so one setting configures both.</summary>
    public const string ConnectionSetting = "AzureWebJobsStorage";

    /// <summary>Identity-based connection settings, in the Functions host's own naming.</summary>
    public const string AccountNameSetting = "AzureWebJobsStorage__accountName";
    public const string BlobServiceUriSetting = "AzureWebJobsStorage__blobServiceUri";
    public const string ClientIdSetting = "AzureWebJobsStorage__clientId";

    private const string DevelopmentAccount = "devstoreaccount1";

    /// <param name="credential">The token credential for identity-based access; <see cref="DefaultAzureCredential"/> when null.</param>
    public static AzureBlobObjectStore Create(Uri root, Func<string, string?> getSetting, TokenCredential? credential = null, BlobClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(getSetting);
        var publicRoot = root.GetLeftPart(UriPartial.Path).TrimEnd('/');
        var connection = getSetting(ConnectionSetting) is { } text && text.Contains('=', StringComparison.Ordinal) ? text : null;

        if (root.Scheme == Scheme)
        {
            var container = root.Host;
            var prefix = Uri.UnescapeDataString(root.AbsolutePath).Trim('/');
            if (container.Length == 0)
            {
                throw Invalid(publicRoot, "it names no container");
            }

            var service = connection is not null ? new BlobServiceClient(connection, options)
                : ServiceUri(root, getSetting) is { } serviceUri ? new BlobServiceClient(serviceUri, credential ?? DefaultCredential(getSetting(ClientIdSetting)), options)
                : throw Invalid(publicRoot, $"azblob:// takes its account from the settings, and none of {ConnectionSetting}, {AccountNameSetting} or {BlobServiceUriSetting} is set");
            return new AzureBlobObjectStore(service.GetBlobContainerClient(container), prefix, publicRoot);
        }

        if (root.Scheme != Uri.UriSchemeHttps && !(root.Scheme == Uri.UriSchemeHttp && IsPathStyle(root)))
        {
            throw Invalid(publicRoot, $"the scheme '{root.Scheme}' is not Azure Blob Storage");
        }

        var pathStyle = IsPathStyle(root);
        var segments = Uri.UnescapeDataString(root.AbsolutePath).Trim('/').Split('/', pathStyle ? 3 : 2);
        var skip = pathStyle ? 1 : 0;
        var account = pathStyle ? segments[0] : root.Host.Split('.')[0];
        var containerName = segments.Length > skip ? segments[skip] : "";
        var blobPrefix = segments.Length > skip + 1 ? segments[skip + 1].Trim('/') : "";
        if (containerName.Length == 0 || account.Length == 0)
        {
            throw Invalid(publicRoot, "it names no container");
        }

        var containerUri = new Uri(root.GetLeftPart(UriPartial.Authority) + "/" + (pathStyle ? account + "/" : "") + Uri.EscapeDataString(containerName));
        BlobContainerClient client;
        if (root.Query.Contains("sig=", StringComparison.Ordinal))
        {
            client = new BlobContainerClient(new Uri(containerUri + root.Query), options);
        }
        else if (connection is not null && string.Equals(new BlobServiceClient(connection).AccountName, account, StringComparison.OrdinalIgnoreCase))
        {
            client = new BlobServiceClient(connection, options).GetBlobContainerClient(containerName);
        }
        else
        {
            client = new BlobContainerClient(containerUri, credential ?? DefaultCredential(getSetting(ClientIdSetting)), options);
        }

        return new AzureBlobObjectStore(client, blobPrefix, publicRoot);
    }

    /// <summary>Azurite and other emulators address accounts by path (http://127.0.0.1:10000/account/...), Azure by host.</summary>
    public static bool IsPathStyle(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || uri.IsLoopback || uri.AbsolutePath.StartsWith("/" + DevelopmentAccount, StringComparison.Ordinal);
    }

    private static Uri? ServiceUri(Uri root, Func<string, string?> getSetting)
    {
        if (getSetting(BlobServiceUriSetting) is { Length: > 0 } text)
        {
            return Uri.TryCreate(text, UriKind.Absolute, out var parsed) ? parsed : throw Invalid(root.AbsoluteUri, $"{BlobServiceUriSetting}='{text}' is not an absolute URL");
        }

        return getSetting(AccountNameSetting) is { Length: > 0 } accountName ? new Uri($"https://{accountName}.blob.core.windows.net/") : null;
    }

    // One credential per client id: it caches its tokens, so every store of the process shares them.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TokenCredential> Credentials = new(StringComparer.Ordinal);

    private static TokenCredential DefaultCredential(string? clientId) =>
        Credentials.GetOrAdd(clientId ?? string.Empty, id => new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = id.Length == 0 ? null : id,
        }));

    private static InferenceException Invalid(string root, string why) =>
        new(ErrorCode.StorageUnavailable, $"The Azure Blob model store '{root}' is not usable: {why}. Use azblob://<container>/<prefix> with {ConnectionSetting} (or {AccountNameSetting}) set, or https://<account>.blob.core.windows.net/<container>/<prefix>.");
}
