namespace Serverless.Storage.AzureBlob.Auth;

/// <summary>
/// Authorizes with an Entra ID bearer token from an <see cref="IAccessTokenSource"/>. The token is cached
/// and refreshed <see cref="RefreshBefore"/> ahead of its expiry, so requests never race a token that
/// expires in flight; concurrent requests share one refresh.
/// </summary>
public sealed class BearerTokenAuthorizer : IBlobRequestAuthorizer, IDisposable
{
    private readonly IAccessTokenSource _source;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    // A reference, so readers on other threads see a whole token or none (no torn struct).
    private volatile AccessToken? _cached;

    public BearerTokenAuthorizer(IAccessTokenSource source, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _time = time ?? TimeProvider.System;
    }

    public string Kind => "managed identity";

    /// <summary>How long before expiry the token is replaced (5 minutes, as the Azure SDKs do).</summary>
    public TimeSpan RefreshBefore { get; init; } = TimeSpan.FromMinutes(5);

    public async ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = await GetTokenAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token.Token);
    }

    /// <summary>The cached token, fetching a new one when it is missing or close to expiry.</summary>
    public async ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (_cached is { } fresh && IsFresh(fresh))
        {
            return fresh;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_cached is { } raced && IsFresh(raced))
            {
                return raced;
            }

            var token = await _source.GetTokenAsync(cancellationToken).ConfigureAwait(false);
            _cached = token;
            return token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();

    private bool IsFresh(AccessToken token) => token.ExpiresOn - RefreshBefore > _time.GetUtcNow();
}
