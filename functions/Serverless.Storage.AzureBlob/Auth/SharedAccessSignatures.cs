using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Storage.AzureBlob.Auth;

/// <summary>
/// Issues SAS tokens signed with the account key (service SAS for a container or blob, account SAS for the
/// blob service), in the string-to-sign layout of signed version 2020-12-06 and later. Used to hand out
/// time-limited download links without sharing the key, and by tests to exercise SAS authorization.
/// </summary>
public static class SharedAccessSignatures
{
    public const string SignedVersion = BlobServiceVersion.Current;

    /// <summary>
    /// A service SAS for a container (<paramref name="blob"/> null, sr=c) or one blob (sr=b).
    /// <paramref name="permissions"/> are letters in the documented order, e.g. "rl" or "racwdl".
    /// </summary>
    public static string CreateServiceSas(string accountName, string base64Key, string container, string? blob, string permissions, DateTimeOffset expiresOn, DateTimeOffset? startsOn = null, string? protocol = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentException.ThrowIfNullOrEmpty(base64Key);
        ArgumentException.ThrowIfNullOrEmpty(container);
        ArgumentException.ThrowIfNullOrEmpty(permissions);
        var resource = blob is null ? "c" : "b";
        var canonical = blob is null ? $"/blob/{accountName}/{container}" : $"/blob/{accountName}/{container}/{blob}";
        var start = startsOn is { } s ? Format(s) : string.Empty;
        var expiry = Format(expiresOn);
        var stringToSign = string.Join('\n',
            permissions, start, expiry, canonical,
            string.Empty, // signed identifier (stored access policy)
            string.Empty, // signed IP range
            protocol ?? string.Empty,
            SignedVersion, resource,
            string.Empty, // snapshot time
            string.Empty, // encryption scope
            string.Empty, string.Empty, string.Empty, string.Empty, string.Empty); // rscc, rscd, rsce, rscl, rsct
        var query = new StringBuilder();
        Append(query, "sv", SignedVersion);
        Append(query, "st", start);
        Append(query, "se", expiry);
        Append(query, "sr", resource);
        Append(query, "sp", permissions);
        Append(query, "spr", protocol);
        Append(query, "sig", Sign(base64Key, stringToSign));
        return query.ToString();
    }

    /// <summary>An account SAS for the blob service (ss=b) over <paramref name="resourceTypes"/> ("s", "c", "o" combined, e.g. "sco").</summary>
    public static string CreateAccountSas(string accountName, string base64Key, string permissions, string resourceTypes, DateTimeOffset expiresOn, DateTimeOffset? startsOn = null, string? protocol = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentException.ThrowIfNullOrEmpty(base64Key);
        ArgumentException.ThrowIfNullOrEmpty(permissions);
        ArgumentException.ThrowIfNullOrEmpty(resourceTypes);
        const string services = "b";
        var start = startsOn is { } s ? Format(s) : string.Empty;
        var expiry = Format(expiresOn);
        // The account layout ends with a newline after the (empty) encryption scope.
        var stringToSign = string.Join('\n',
            accountName, permissions, services, resourceTypes, start, expiry,
            string.Empty, // signed IP range
            protocol ?? string.Empty,
            SignedVersion,
            string.Empty, // encryption scope
            string.Empty);
        var query = new StringBuilder();
        Append(query, "sv", SignedVersion);
        Append(query, "ss", services);
        Append(query, "srt", resourceTypes);
        Append(query, "sp", permissions);
        Append(query, "st", start);
        Append(query, "se", expiry);
        Append(query, "spr", protocol);
        Append(query, "sig", Sign(base64Key, stringToSign));
        return query.ToString();
    }

    private static string Sign(string base64Key, string stringToSign) =>
        Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(base64Key), Encoding.UTF8.GetBytes(stringToSign)));

    private static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static void Append(StringBuilder query, string name, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        if (query.Length > 0)
        {
            query.Append('&');
        }

        query.Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }
}
