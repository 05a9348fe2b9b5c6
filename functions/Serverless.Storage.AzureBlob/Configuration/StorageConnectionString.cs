using System.Globalization;
using Serverless.Core.Errors;

namespace Serverless.Storage.AzureBlob.Configuration;

/// <summary>
/// An Azure Storage connection string (the <c>AzureWebJobsStorage</c> setting), reduced to what the Blob
/// client needs: the account, its blob endpoint and either its key or a SAS token. Supports
/// <c>UseDevelopmentStorage=true</c> (Azurite on its default port) and an explicit <c>BlobEndpoint</c>
/// (Azurite on any port, private endpoints, sovereign clouds).
/// </summary>
public sealed record StorageConnectionString
{
    /// <summary>Azurite's well-known development account, documented by Microsoft and identical on every machine.</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development key (public, not a secret).</summary>
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public required string AccountName { get; init; }

    /// <summary>The blob service endpoint, always ending in '/' (path-style for Azurite: http://127.0.0.1:10000/devstoreaccount1/).</summary>
    public required Uri BlobEndpoint { get; init; }

    /// <summary>The base64 account key, or null when the string carries a SAS instead.</summary>
    public string? AccountKey { get; init; }

    /// <summary>A SAS token without the leading '?', or null.</summary>
    public string? SharedAccessSignature { get; init; }

    /// <summary>Parses a connection string; throws InvalidInput naming the missing or malformed part.</summary>
    public static StorageConnectionString Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Keys and SAS tokens contain '=', so only the first one separates name from value.
            var eq = segment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw Invalid($"the segment '{Redact(segment)}' is not of the form Name=Value");
            }

            parts[segment[..eq].Trim()] = segment[(eq + 1)..].Trim();
        }

        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && bool.TryParse(dev, out var useDev) && useDev)
        {
            var proxy = parts.TryGetValue("DevelopmentStorageProxyUri", out var p) ? p.TrimEnd('/') : "http://127.0.0.1";
            return new StorageConnectionString
            {
                AccountName = DevelopmentAccountName,
                AccountKey = DevelopmentAccountKey,
                BlobEndpoint = WithTrailingSlash(new Uri($"{proxy}:10000/{DevelopmentAccountName}")),
            };
        }

        parts.TryGetValue("AccountName", out var account);
        parts.TryGetValue("AccountKey", out var key);
        parts.TryGetValue("SharedAccessSignature", out var sas);
        Uri endpoint;
        if (parts.TryGetValue("BlobEndpoint", out var blobEndpoint))
        {
            if (!Uri.TryCreate(blobEndpoint, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp))
            {
                throw Invalid($"BlobEndpoint '{blobEndpoint}' is not an absolute http(s) URL");
            }

            endpoint = WithTrailingSlash(parsed);
            account ??= AccountFromEndpoint(endpoint);
        }
        else
        {
            if (string.IsNullOrEmpty(account))
            {
                throw Invalid("it has neither AccountName nor BlobEndpoint");
            }

            var protocol = parts.TryGetValue("DefaultEndpointsProtocol", out var proto) ? proto.ToLowerInvariant() : "https";
            var suffix = parts.TryGetValue("EndpointSuffix", out var sfx) ? sfx : "core.windows.net";
            endpoint = new Uri($"{protocol}://{account}.blob.{suffix}/");
        }

        if (string.IsNullOrEmpty(account))
        {
            throw Invalid("the account name cannot be derived from BlobEndpoint; add AccountName=...");
        }

        if (string.IsNullOrEmpty(key) && string.IsNullOrEmpty(sas))
        {
            throw Invalid($"it names account '{account}' but has neither AccountKey nor SharedAccessSignature; copy the full string from the portal's Access keys page");
        }

        if (!string.IsNullOrEmpty(key) && !IsBase64(key))
        {
            throw Invalid($"the AccountKey of account '{account}' is not valid base64; copy it again from the portal's Access keys page");
        }

        return new StorageConnectionString
        {
            AccountName = account,
            BlobEndpoint = endpoint,
            AccountKey = string.IsNullOrEmpty(key) ? null : key,
            SharedAccessSignature = string.IsNullOrEmpty(sas) ? null : sas.TrimStart('?'),
        };
    }

    /// <summary>The account name in a blob endpoint: the first host label (account.blob.core.windows.net) or, for IP/localhost endpoints, the first path segment (Azurite's path style).</summary>
    public static string? AccountFromEndpoint(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (IsPathStyle(endpoint))
        {
            var first = endpoint.AbsolutePath.Trim('/').Split('/')[0];
            return first.Length == 0 ? null : first;
        }

        var dot = endpoint.Host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? endpoint.Host[..dot] : null;
    }

    /// <summary>True for endpoints that carry the account in the path rather than the host (IP addresses and localhost, as Azurite uses).</summary>
    public static bool IsPathStyle(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || endpoint.IsLoopback;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"AccountName={AccountName};BlobEndpoint={BlobEndpoint};AccountKey={(AccountKey is null ? "" : "***")};SharedAccessSignature={(SharedAccessSignature is null ? "" : "***")}");

    internal static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    private static bool IsBase64(string value)
    {
        Span<byte> buffer = stackalloc byte[256];
        return value.Length <= 340 && Convert.TryFromBase64String(value, buffer, out _);
    }

    private static string Redact(string segment) => segment.Length <= 16 ? segment : segment[..16] + "...";

    // A broken setting is the deployment's fault, not the caller's, so it is never a 4xx.
    private static InferenceException Invalid(string why) =>
        new(ErrorCode.StorageUnavailable, $"The Azure Storage connection string is invalid: {why}. Expected e.g. 'DefaultEndpointsProtocol=https;AccountName=<name>;AccountKey=<key>;EndpointSuffix=core.windows.net' or 'UseDevelopmentStorage=true'.");
}
