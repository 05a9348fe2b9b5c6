using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Serverless.Core.Errors;

namespace Serverless.Storage.AzureBlob;

/// <summary>
/// Turns the Azure SDK's failures into <see cref="InferenceException"/>s a person can act on: a missing blob or
/// container is NotFound naming both, a refused or missing credential says which settings grant access, and
/// everything else is StorageUnavailable with the service's status and error code.
/// </summary>
internal static class BlobErrors
{
    /// <summary>The failures the SDK reports for the service or the credential (not our own bugs).</summary>
    public static bool IsServiceFailure(Exception ex) =>
        ex is RequestFailedException or AuthenticationFailedException or CredentialUnavailableException
        || (ex is AggregateException { InnerExceptions.Count: > 0 } all && all.InnerExceptions.All(IsServiceFailure));

    public static InferenceException From(Exception ex, string operation, BlobContainerClient container, string? blob)
    {
        ArgumentNullException.ThrowIfNull(ex);
        ArgumentNullException.ThrowIfNull(container);
        while (ex is AggregateException { InnerExceptions.Count: > 0 } all)
        {
            // The SDK's retry policy gives up with every attempt's failure; the last one says the most.
            ex = all.InnerExceptions[^1];
        }

        var account = container.AccountName;
        var target = blob is null ? $"container '{container.Name}'" : $"blob '{blob}' in container '{container.Name}'";
        if (ex is AuthenticationFailedException or CredentialUnavailableException)
        {
            return new InferenceException(ErrorCode.StorageUnavailable,
                $"No credential for storage account '{account}' could get a token ({operation} of {target}): {FirstLine(ex.Message)} " +
                $"Enable the function app's managed identity (with {AzureBlobStoreFactory.ClientIdSetting} for a user-assigned one), set {AzureBlobStoreFactory.ConnectionSetting} to a connection string, or append a SAS token to the store URL.",
                ex);
        }

        var failed = (RequestFailedException)ex;
        var code = failed.ErrorCode ?? "no error code";
        return failed.Status switch
        {
            404 when failed.ErrorCode == BlobErrorCode.ContainerNotFound =>
                InferenceException.NotFound($"Container '{container.Name}' does not exist in storage account '{account}' ({operation}). Create it, or fix the container in the model store URI."),
            404 => InferenceException.NotFound($"No {target} of storage account '{account}' ({operation}: {code}). Check the store URI and that the object was uploaded."),
            401 or 403 => new InferenceException(ErrorCode.StorageUnavailable,
                $"Azure Blob Storage refused {operation} of {target} in account '{account}' ({failed.Status} {code}). " +
                (failed.ErrorCode == "AuthorizationPermissionMismatch"
                    ? "The identity lacks a data role: grant it 'Storage Blob Data Reader' on the model container ('Storage Blob Data Contributor' where it writes)."
                    : "Check the AccountKey in the connection string, the SAS token (complete, unexpired, signed for this container) or the managed identity's role assignment."),
                ex),
            416 => InferenceException.BadInput($"The byte range requested from {target} lies beyond its end ({operation}: 416 {code}). Request a range inside the blob's size."),
            0 => new InferenceException(ErrorCode.StorageUnavailable,
                $"Could not reach Azure Blob Storage at {container.Uri.GetLeftPart(UriPartial.Authority)} for {operation} of {target} ({FirstLine(failed.Message)}). Check the endpoint in the connection string and the network path to it.",
                ex),
            _ => new InferenceException(ErrorCode.StorageUnavailable,
                $"Azure Blob Storage answered {failed.Status} {code} to {operation} of {target} in account '{account}'. Retry later; if it persists, check the account's health and settings.",
                ex),
        };
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
