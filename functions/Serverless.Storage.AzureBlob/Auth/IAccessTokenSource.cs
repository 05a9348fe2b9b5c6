namespace Serverless.Storage.AzureBlob.Auth;

/// <summary>An OAuth bearer token and when it stops being accepted.</summary>
public sealed record AccessToken(string Token, DateTimeOffset ExpiresOn);

/// <summary>
/// Where bearer tokens come from (the managed-identity endpoint in Azure). A seam so tests can serve tokens
/// from a loopback endpoint and count how often they are fetched.
/// </summary>
public interface IAccessTokenSource
{
    ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken);
}
