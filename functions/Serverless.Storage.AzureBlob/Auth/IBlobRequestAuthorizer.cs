namespace Serverless.Storage.AzureBlob.Auth;

/// <summary>
/// Adds credentials to a fully built Blob service request, just before it is sent. The client has already
/// set every header (x-ms-date, x-ms-version, ranges, content headers), so a signer can see all it signs.
/// </summary>
public interface IBlobRequestAuthorizer
{
    /// <summary>What the credential is, for messages ("Shared Key", "SAS token", "managed identity").</summary>
    string Kind { get; }

    ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken);
}
