using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Core.Errors;

namespace Serverless.Storage.AzureBlob.Auth;

/// <summary>
/// Fetches tokens from the App Service / Functions managed-identity endpoint: GET
/// <c>{IDENTITY_ENDPOINT}?resource=https://storage.azure.com/&amp;api-version=2019-08-01</c> with the
/// <c>X-IDENTITY-HEADER</c> secret, optionally for a user-assigned identity's client id.
/// </summary>
public sealed class ManagedIdentityTokenSource : IAccessTokenSource
{
    public const string StorageResource = "https://storage.azure.com/";
    public const string ApiVersion = "2019-08-01";

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string _identityHeader;
    private readonly string? _clientId;

    public ManagedIdentityTokenSource(HttpClient http, Uri endpoint, string identityHeader, string? clientId = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrEmpty(identityHeader);
        _http = http;
        _endpoint = endpoint;
        _identityHeader = identityHeader;
        _clientId = clientId;
    }

    /// <summary>The source the platform configures through IDENTITY_ENDPOINT and IDENTITY_HEADER, or null when they are not set.</summary>
    public static ManagedIdentityTokenSource? FromEnvironment(HttpClient http, Func<string, string?> getEnvironment, string? clientId = null)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        var endpoint = getEnvironment("IDENTITY_ENDPOINT");
        var header = getEnvironment("IDENTITY_HEADER");
        if (string.IsNullOrEmpty(endpoint) || string.IsNullOrEmpty(header) || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            return null;
        }

        return new ManagedIdentityTokenSource(http, uri, header, clientId);
    }

    public async ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        var query = $"resource={Uri.EscapeDataString(StorageResource)}&api-version={ApiVersion}";
        if (!string.IsNullOrEmpty(_clientId))
        {
            query += "&client_id=" + Uri.EscapeDataString(_clientId);
        }

        var builder = new UriBuilder(_endpoint) { Query = query };
        using var request = new HttpRequestMessage(HttpMethod.Get, builder.Uri);
        request.Headers.TryAddWithoutValidation("X-IDENTITY-HEADER", _identityHeader);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new InferenceException(ErrorCode.StorageUnavailable, $"Could not reach the managed-identity endpoint {_endpoint.GetLeftPart(UriPartial.Path)} ({ex.Message}). Check that the function app has a managed identity enabled.", ex);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new InferenceException(ErrorCode.StorageUnavailable, $"The managed-identity endpoint refused a token for {StorageResource} ({(int)response.StatusCode}: {Truncate(body)}). Enable a managed identity on the function app{(string.IsNullOrEmpty(_clientId) ? "" : $" or check the client id '{_clientId}'")}.");
            }

            TokenResponse? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize(body, ManagedIdentityJsonContext.Default.TokenResponse);
            }
            catch (JsonException ex)
            {
                throw new InferenceException(ErrorCode.StorageUnavailable, $"The managed-identity endpoint answered with JSON we cannot read ({ex.Message}).", ex);
            }

            if (parsed?.AccessToken is not { Length: > 0 } token || ParseExpiry(parsed.ExpiresOn) is not { } expires)
            {
                throw new InferenceException(ErrorCode.StorageUnavailable, "The managed-identity endpoint answered without access_token or a numeric expires_on.");
            }

            return new AccessToken(token, expires);
        }
    }

    // expires_on is seconds since the Unix epoch, sent as a string by App Service and as a number elsewhere.
    private static DateTimeOffset? ParseExpiry(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt64(out var n) => DateTimeOffset.FromUnixTimeSeconds(n),
        JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) => DateTimeOffset.FromUnixTimeSeconds(s),
        _ => null,
    };

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";

    internal sealed class TokenResponse
    {
        [JsonPropertyName("access_token")]
        public string? AccessToken { get; set; }

        [JsonPropertyName("expires_on")]
        public JsonElement ExpiresOn { get; set; }
    }
}

[JsonSerializable(typeof(ManagedIdentityTokenSource.TokenResponse))]
internal sealed partial class ManagedIdentityJsonContext : JsonSerializerContext
{
}
