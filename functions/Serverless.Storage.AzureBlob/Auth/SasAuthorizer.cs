namespace Serverless.Storage.AzureBlob.Auth;

/// <summary>
/// Authorizes with a shared access signature: the token's query parameters are appended to every request
/// URL, and nothing is signed locally (the token was signed when it was issued).
/// </summary>
public sealed class SasAuthorizer : IBlobRequestAuthorizer
{
    private readonly string _token;

    /// <param name="token">The SAS token, with or without the leading '?'.</param>
    public SasAuthorizer(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        _token = token.TrimStart('?');
    }

    public string Kind => "SAS token";

    public ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.RequestUri);
        var uri = request.RequestUri.AbsoluteUri;
        request.RequestUri = new Uri(uri + (request.RequestUri.Query.Length > 1 ? "&" : "?") + _token);
        return ValueTask.CompletedTask;
    }
}
