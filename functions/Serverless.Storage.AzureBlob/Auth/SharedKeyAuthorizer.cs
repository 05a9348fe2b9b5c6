using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Storage.AzureBlob.Auth;

/// <summary>
/// "Authorize with Shared Key" for the Blob service: an HMAC-SHA256, keyed with the account key, over the
/// verb, twelve standard headers, the canonicalized x-ms-* headers and the canonicalized resource.
/// </summary>
public sealed class SharedKeyAuthorizer : IBlobRequestAuthorizer
{
    private readonly string _accountName;
    private readonly byte[] _key;

    public SharedKeyAuthorizer(string accountName, string base64Key)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentException.ThrowIfNullOrEmpty(base64Key);
        _accountName = accountName;
        _key = Convert.FromBase64String(base64Key);
    }

    public string Kind => "Shared Key";

    public ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(BuildStringToSign(request, _accountName))));
        request.Headers.TryAddWithoutValidation("Authorization", $"SharedKey {_accountName}:{signature}");
        return ValueTask.CompletedTask;
    }

    /// <summary>The exact string the service signs for this request (public for tests and for debugging 403s).</summary>
    public static string BuildStringToSign(HttpRequestMessage request, string accountName)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.RequestUri);
        var sb = new StringBuilder(256);
        sb.Append(request.Method.Method.ToUpperInvariant()).Append('\n');
        sb.Append(Header(request, "Content-Encoding")).Append('\n');
        sb.Append(Header(request, "Content-Language")).Append('\n');
        // Since version 2015-02-21 a zero Content-Length is signed as the empty string.
        var length = request.Content?.Headers.ContentLength;
        sb.Append(length is > 0 ? length.Value.ToString(CultureInfo.InvariantCulture) : string.Empty).Append('\n');
        sb.Append(Header(request, "Content-MD5")).Append('\n');
        sb.Append(Header(request, "Content-Type")).Append('\n');
        // Date stays empty because every request carries x-ms-date, which the canonicalized headers sign.
        sb.Append(Header(request, "Date")).Append('\n');
        sb.Append(Header(request, "If-Modified-Since")).Append('\n');
        sb.Append(Header(request, "If-Match")).Append('\n');
        sb.Append(Header(request, "If-None-Match")).Append('\n');
        sb.Append(Header(request, "If-Unmodified-Since")).Append('\n');
        sb.Append(Header(request, "Range")).Append('\n');
        AppendCanonicalizedHeaders(sb, request);
        AppendCanonicalizedResource(sb, request.RequestUri, accountName);
        return sb.ToString();
    }

    private static string Header(HttpRequestMessage request, string name)
    {
        if (request.Headers.NonValidated.TryGetValues(name, out var values))
        {
            return string.Join(',', values);
        }

        if (request.Content is not null && request.Content.Headers.NonValidated.TryGetValues(name, out var contentValues))
        {
            return string.Join(',', contentValues);
        }

        return string.Empty;
    }

    private static void AppendCanonicalizedHeaders(StringBuilder sb, HttpRequestMessage request)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in request.Headers.NonValidated)
        {
            if (header.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
            {
                headers.Add(new(header.Key.ToLowerInvariant(), string.Join(',', header.Value)));
            }
        }

        if (request.Content is not null)
        {
            foreach (var header in request.Content.Headers.NonValidated)
            {
                if (header.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                {
                    headers.Add(new(header.Key.ToLowerInvariant(), string.Join(',', header.Value)));
                }
            }
        }

        headers.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var (name, value) in headers)
        {
            sb.Append(name).Append(':').Append(Unfold(value)).Append('\n');
        }
    }

    private static void AppendCanonicalizedResource(StringBuilder sb, Uri uri, string accountName)
    {
        // The path as sent (still percent-encoded); for Azurite's path-style URLs it repeats the account name.
        sb.Append('/').Append(accountName).Append(uri.AbsolutePath);
        var query = uri.Query;
        if (query.Length <= 1)
        {
            return;
        }

        var parameters = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]).ToLowerInvariant();
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!parameters.TryGetValue(name, out var list))
            {
                parameters[name] = list = [];
            }

            list.Add(value);
        }

        foreach (var (name, values) in parameters)
        {
            values.Sort(StringComparer.Ordinal);
            sb.Append('\n').Append(name).Append(':').Append(string.Join(',', values));
        }
    }

    // Header values are signed trimmed, with runs of whitespace folded to one space.
    private static string Unfold(string value)
    {
        var trimmed = value.Trim();
        if (!trimmed.Contains("  ", StringComparison.Ordinal) && !trimmed.Contains('\t', StringComparison.Ordinal) && !trimmed.Contains('\n', StringComparison.Ordinal))
        {
            return trimmed;
        }

        var sb = new StringBuilder(trimmed.Length);
        var lastWasSpace = false;
        foreach (var c in trimmed)
        {
            var isSpace = char.IsWhiteSpace(c);
            if (isSpace && lastWasSpace)
            {
                continue;
            }

            sb.Append(isSpace ? ' ' : c);
            lastWasSpace = isSpace;
        }

        return sb.ToString();
    }
}
