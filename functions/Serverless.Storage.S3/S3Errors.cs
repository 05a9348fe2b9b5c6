using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Serverless.Core.Errors;

namespace Serverless.Storage.S3;

/// <summary>Turns S3 and transport failures into the core's error codes, with messages that say what to check.</summary>
internal static class S3Errors
{
    public static bool IsNotFound(Exception e) =>
        e is AmazonS3Exception s3 && (s3.StatusCode == HttpStatusCode.NotFound || s3.ErrorCode is "NoSuchKey" or "NotFound") && s3.ErrorCode != "NoSuchBucket";

    public static bool IsMapped(Exception e, CancellationToken cancellationToken) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or SocketException or IOException
        || e is OperationCanceledException && !cancellationToken.IsCancellationRequested;

    public static InferenceException Map(Exception e, string root, string key, string operation)
    {
        if (IsNotFound(e))
        {
            return new InferenceException(ErrorCode.NotFound,
                $"The object '{key}' does not exist in {root} (S3 {operation}: {Code(e)}). Check the manifest's artifact key, or publish the model to this store.", e);
        }

        if (e is AmazonS3Exception { ErrorCode: "NoSuchBucket" })
        {
            return new InferenceException(ErrorCode.StorageUnavailable,
                $"The bucket of {root} does not exist (S3 {operation} '{key}': NoSuchBucket). Create it, or fix MODEL_STORE.", e);
        }

        if (e is AmazonServiceException { StatusCode: HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized } denied)
        {
            return new InferenceException(ErrorCode.StorageUnavailable,
                $"Access to '{key}' in {root} was denied (S3 {operation}: {(int)denied.StatusCode} {denied.ErrorCode}). Check the credentials " +
                "(AWS_ACCESS_KEY_ID/AWS_PROFILE or the function's role) and that its policy allows s3:GetObject, s3:ListBucket and, to publish, s3:PutObject on this bucket and prefix.", e);
        }

        if (e is AmazonServiceException { StatusCode: > 0 } service && (int)service.StatusCode < 600 && Find<HttpRequestException>(e) is null && Find<SocketException>(e) is null)
        {
            return new InferenceException(ErrorCode.StorageUnavailable,
                $"S3 {operation} '{key}' in {root} failed with {(int)service.StatusCode} {service.ErrorCode}: {service.Message}", e);
        }

        var reason = Find<SocketException>(e)?.Message ?? Find<HttpRequestException>(e)?.Message ?? (e is OperationCanceledException ? "the request timed out" : e.Message);
        return new InferenceException(ErrorCode.StorageUnavailable,
            $"Cannot reach the model store {root} for {operation} '{key}': {reason}. Check the network, the endpoint (AWS_ENDPOINT_URL_S3) and the region; the request can be retried.", e);
    }

    private static string Code(Exception e) => e is AmazonServiceException s ? $"{(int)s.StatusCode} {s.ErrorCode}" : e.GetType().Name;

    private static T? Find<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T match)
            {
                return match;
            }
        }

        return null;
    }
}
