using System.Net;
using System.Xml;
using System.Xml.Linq;
using Serverless.Core.Errors;

namespace Serverless.Storage.AzureBlob;

/// <summary>
/// Turns Blob service failures into <see cref="InferenceException"/>s a person can act on: 404 becomes
/// NotFound naming the container and blob, 403 says which credential was rejected and the service's error
/// code, and everything else is StorageUnavailable with the status and code.
/// </summary>
internal static class BlobErrors
{
    public static async Task<InferenceException> FromResponseAsync(HttpResponseMessage response, string account, string operation, string container, string? blob, string credentialKind, CancellationToken cancellationToken)
    {
        var (code, message) = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var target = blob is null ? $"container '{container}'" : $"blob '{blob}' in container '{container}'";
        var detail = message is null ? code : $"{code}: {message}";
        switch (response.StatusCode)
        {
            case HttpStatusCode.NotFound when code == "ContainerNotFound":
                return InferenceException.NotFound($"Container '{container}' does not exist in storage account '{account}' ({operation}). Create it, or fix the container in the model store URI.");
            case HttpStatusCode.NotFound:
                return InferenceException.NotFound($"No {target} of storage account '{account}' ({operation}: {code}). Check the store URI and that the object was uploaded.");
            case HttpStatusCode.Forbidden:
                return new InferenceException(ErrorCode.StorageUnavailable,
                    $"Azure Blob Storage rejected the {credentialKind} for account '{account}' on {operation} of {target} (403 {detail}). " + FixFor(credentialKind, code));
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                return InferenceException.BadInput($"The byte range requested from {target} lies beyond its end ({operation}: 416 {code}). Request a range inside the blob's size.");
            default:
                return new InferenceException(ErrorCode.StorageUnavailable,
                    $"Azure Blob Storage answered {status} {detail} to {operation} of {target} in account '{account}'. Retry later; if it persists, check the account's health and settings.");
        }
    }

    public static InferenceException Unreachable(Exception ex, Uri endpoint, string operation, string container, string? blob) =>
        new(ErrorCode.StorageUnavailable,
            $"Could not reach Azure Blob Storage at {endpoint.GetLeftPart(UriPartial.Authority)} for {operation} of '{container}/{blob}' ({ex.Message}). Check the endpoint in the connection string and the network path to it.",
            ex);

    public static InferenceException TimedOut(Exception ex, Uri endpoint, string operation, string container, string? blob) =>
        new(ErrorCode.StorageUnavailable,
            $"Azure Blob Storage at {endpoint.GetLeftPart(UriPartial.Authority)} did not answer {operation} of '{container}/{blob}' in time. Retry later.",
            ex);

    private static string FixFor(string credentialKind, string code) => credentialKind switch
    {
        "Shared Key" => "Check the AccountKey in the connection string (AzureWebJobsStorage); keys change when they are rotated.",
        "SAS token" when code == "AuthorizationPermissionMismatch" => "The SAS token lacks a permission this operation needs; issue one with read (r) and list (l), plus write (w) for uploads.",
        "SAS token" => "Check that the SAS token is complete, unexpired and signed for this account and container.",
        _ => "Check that the function app's managed identity holds the 'Storage Blob Data Reader' role (or Contributor for uploads) on the account.",
    };

    // The service names the failure in x-ms-error-code and in an XML body (HEAD responses have no body).
    private static async Task<(string Code, string? Message)> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var code = response.Headers.TryGetValues("x-ms-error-code", out var values) ? values.FirstOrDefault() : null;
        string? message = null;
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (body.Length > 0 && body.TrimStart().StartsWith('<'))
            {
                var root = XDocument.Parse(body).Root;
                code ??= root?.Element("Code")?.Value;
                // The message's second line is a RequestId and timestamp: noise for people.
                message = root?.Element("Message")?.Value.Split('\n')[0].Trim();
            }
        }
        catch (XmlException)
        {
            // A proxy's HTML error page: the status code alone has to do.
        }
        catch (HttpRequestException)
        {
        }

        return (code ?? response.ReasonPhrase ?? "UnknownError", message);
    }
}
