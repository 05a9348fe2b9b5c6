using System.Globalization;
using System.Net;
using Serverless.Core.Errors;

namespace Serverless.Storage.AzureBlob;

public sealed partial class AzureBlobClient
{
    /// <summary>
    /// Sends a request built fresh for each attempt (content cannot be sent twice), stamped with x-ms-date and
    /// x-ms-version and authorized last. Throttling, 500/503 and dropped connections are retried with
    /// backoff; any other failure, except the <paramref name="tolerated"/> status, becomes an InferenceException.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, string operation, string container, string? blob, HttpStatusCode? tolerated, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = build();
            request.Headers.TryAddWithoutValidation("x-ms-date", _time.GetUtcNow().ToString("R", CultureInfo.InvariantCulture));
            request.Headers.TryAddWithoutValidation("x-ms-version", BlobServiceVersion.Current);
            await _authorizer.AuthorizeAsync(request, cancellationToken).ConfigureAwait(false);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (attempt < _options.MaxRetries)
            {
                _ = ex;
                await Task.Delay(Backoff(attempt), _time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (HttpRequestException ex)
            {
                throw BlobErrors.Unreachable(ex, Endpoint, operation, container, blob);
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw BlobErrors.TimedOut(ex, Endpoint, operation, container, blob);
            }

            if (response.IsSuccessStatusCode || response.StatusCode == tolerated)
            {
                return response;
            }

            if (attempt < _options.MaxRetries && IsTransient(response.StatusCode))
            {
                response.Dispose();
                await Task.Delay(Backoff(attempt), _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            using (response)
            {
                throw await BlobErrors.FromResponseAsync(response, AccountName, operation, container, blob, CredentialKind, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.ServiceUnavailable or HttpStatusCode.RequestTimeout or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout;

    private TimeSpan Backoff(int attempt) => _options.RetryDelay * Math.Pow(2, attempt);

    private static string? ErrorCodeOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-ms-error-code", out var values) ? values.FirstOrDefault() : null;
}
