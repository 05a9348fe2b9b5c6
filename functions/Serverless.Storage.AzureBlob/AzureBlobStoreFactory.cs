using Serverless.Core.Errors;
using Serverless.Storage.AzureBlob.Auth;
using Serverless.Storage.AzureBlob.Configuration;

namespace Serverless.Storage.AzureBlob;

/// <summary>
/// Builds an <see cref="AzureBlobObjectStore"/> from a model-store URI and the app settings. Accepted roots:
/// <c>azblob://container/prefix</c> (the account comes from the settings),
/// <c>https://account.blob.core.windows.net/container/prefix[?sas]</c>, and Azurite's path style
/// <c>http://127.0.0.1:10000/devstoreaccount1/container/prefix</c>. Credentials are tried in this order:
/// the <c>AzureWebJobsStorage</c> connection string's AccountKey (for the same account), a SAS (in the URI
/// or the connection string), then the managed identity (IDENTITY_ENDPOINT and IDENTITY_HEADER).
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

    private static readonly Lazy<HttpClient> SharedHttp = new(() => AzureBlobClient.CreateHttpClient());

    /// <summary>True for the URIs this factory understands (so a resolver can route https:// here).</summary>
    public static bool CanOpen(Uri root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return root.Scheme == Scheme || root.Scheme == Uri.UriSchemeHttps || (root.Scheme == Uri.UriSchemeHttp && StorageConnectionString.IsPathStyle(root));
    }

    public static AzureBlobObjectStore Create(Uri root, Func<string, string?> getSetting, HttpClient? httpClient = null, AzureBlobClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(getSetting);
        var http = httpClient ?? SharedHttp.Value;
        var connection = ParseConnection(getSetting(ConnectionSetting));
        var publicRoot = root.GetLeftPart(UriPartial.Path).TrimEnd('/');

        Uri endpoint;
        string account;
        string container;
        string prefix;
        string? sas = null;
        if (root.Scheme == Scheme)
        {
            container = root.Host;
            prefix = Uri.UnescapeDataString(root.AbsolutePath).Trim('/');
            (endpoint, account) = AccountForAzblob(root, connection, getSetting);
        }
        else if (root.Scheme == Uri.UriSchemeHttps || root.Scheme == Uri.UriSchemeHttp)
        {
            var segments = Uri.UnescapeDataString(root.AbsolutePath).Trim('/').Split('/', 2 + (StorageConnectionString.IsPathStyle(root) ? 1 : 0));
            var skip = StorageConnectionString.IsPathStyle(root) ? 1 : 0;
            account = StorageConnectionString.AccountFromEndpoint(root) ?? throw Invalid(publicRoot, "it names no storage account");
            endpoint = new Uri(root.GetLeftPart(UriPartial.Authority) + "/" + (skip == 1 ? account + "/" : ""));
            container = segments.Length > skip ? segments[skip] : "";
            prefix = segments.Length > skip + 1 ? segments[skip + 1].Trim('/') : "";
            if (root.Query.Contains("sig=", StringComparison.Ordinal))
            {
                sas = root.Query.TrimStart('?');
            }
        }
        else
        {
            throw Invalid(publicRoot, $"the scheme '{root.Scheme}' is not Azure Blob Storage");
        }

        if (container.Length == 0)
        {
            throw Invalid(publicRoot, "it names no container");
        }

        var authorizer = ChooseCredential(account, connection, sas, http, getSetting)
            ?? throw new InferenceException(ErrorCode.StorageUnavailable,
                $"No credentials for storage account '{account}' (model store {publicRoot}). Set {ConnectionSetting} to a connection string with its AccountKey, append a SAS token to the store URL, or enable the function app's managed identity.");
        var client = new AzureBlobClient(endpoint, account, authorizer, http, options);
        return new AzureBlobObjectStore(client, container, prefix, publicRoot);
    }

    private static (Uri Endpoint, string Account) AccountForAzblob(Uri root, StorageConnectionString? connection, Func<string, string?> getSetting)
    {
        if (connection is not null)
        {
            return (connection.BlobEndpoint, connection.AccountName);
        }

        if (getSetting(BlobServiceUriSetting) is { Length: > 0 } serviceUri && Uri.TryCreate(serviceUri, UriKind.Absolute, out var parsed)
            && StorageConnectionString.AccountFromEndpoint(parsed) is { } fromUri)
        {
            return (StorageConnectionString.WithTrailingSlash(parsed), fromUri);
        }

        if (getSetting(AccountNameSetting) is { Length: > 0 } accountName)
        {
            return (new Uri($"https://{accountName}.blob.core.windows.net/"), accountName);
        }

        throw Invalid(root.AbsoluteUri, $"azblob:// takes its account from the settings, and none of {ConnectionSetting}, {AccountNameSetting} or {BlobServiceUriSetting} is set");
    }

    private static IBlobRequestAuthorizer? ChooseCredential(string account, StorageConnectionString? connection, string? sasFromUri, HttpClient http, Func<string, string?> getSetting)
    {
        var sameAccount = connection is not null && string.Equals(connection.AccountName, account, StringComparison.OrdinalIgnoreCase);
        if (sameAccount && connection!.AccountKey is { } key)
        {
            return new SharedKeyAuthorizer(account, key);
        }

        if (sasFromUri is not null)
        {
            return new SasAuthorizer(sasFromUri);
        }

        if (sameAccount && connection!.SharedAccessSignature is { } sas)
        {
            return new SasAuthorizer(sas);
        }

        return ManagedIdentityTokenSource.FromEnvironment(http, getSetting, getSetting(ClientIdSetting)) is { } source
            ? new BearerTokenAuthorizer(source)
            : null;
    }

    // Identity-based connections leave AzureWebJobsStorage unset or set it to something without '='.
    private static StorageConnectionString? ParseConnection(string? value) =>
        string.IsNullOrWhiteSpace(value) || !value.Contains('=', StringComparison.Ordinal) ? null : StorageConnectionString.Parse(value);

    private static InferenceException Invalid(string root, string why) =>
        new(ErrorCode.StorageUnavailable, $"The Azure Blob model store '{root}' is not usable: {why}. Use azblob://<container>/<prefix> with {ConnectionSetting} set, or https://<account>.blob.core.windows.net/<container>/<prefix>.");
}
