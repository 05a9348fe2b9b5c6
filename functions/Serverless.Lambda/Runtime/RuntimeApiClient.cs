using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Serverless.Lambda.Events;

namespace Serverless.Lambda.Runtime;

/// <summary>
/// HTTP client for the Lambda Runtime API at <c>http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/</c>. The
/// HttpClient has no timeout: Lambda freezes the process between invocations, so a long-poll
/// <c>/next</c> may legitimately stay open for hours of wall-clock time.
/// </summary>
public sealed class RuntimeApiClient : IRuntimeApiClient, IDisposable
{
    private const string ApiVersion = "2018-06-01";
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    private readonly HttpClient _http;
    private readonly string _baseUrl;

    /// <param name="endpoint">host:port as Lambda puts it in <c>AWS_LAMBDA_RUNTIME_API</c>, e.g. "127.0.0.1:9001".</param>
    public RuntimeApiClient(string endpoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoint);
        _baseUrl = "http://" + endpoint.Trim().TrimEnd('/') + "/" + ApiVersion + "/runtime/";
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Creates the client from <c>AWS_LAMBDA_RUNTIME_API</c>, with a message saying what to do when it is missing.</summary>
    public static RuntimeApiClient FromEnvironment(Func<string, string?> getEnvironmentVariable)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        var endpoint = getEnvironmentVariable("AWS_LAMBDA_RUNTIME_API");
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            throw new InvalidOperationException(
                "AWS_LAMBDA_RUNTIME_API is not set. `bootstrap` is a Lambda custom runtime (provided.al2023): deploy it to Lambda, " +
                "or run it locally through the Lambda emulator (Serverless.Lambda.Emulator, `serverless lambda`), which sets the variable.");
        }

        return new RuntimeApiClient(endpoint);
    }

    public async Task<LambdaInvocation> GetNextInvocationAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, _baseUrl + "invocation/next"), "invocation/next", cancellationToken).ConfigureAwait(false);
        var headers = response.Headers;
        var requestId = Header(headers, "Lambda-Runtime-Aws-Request-Id")
            ?? throw new RuntimeApiException("The Runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id; the execution environment is unusable.", 500);
        var deadlineText = Header(headers, "Lambda-Runtime-Deadline-Ms");
        var deadline = long.TryParse(deadlineText, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.UtcNow.AddMinutes(15); // Lambda always sends it; 15 min is its maximum timeout.
        var payload = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return new LambdaInvocation
        {
            RequestId = requestId,
            Deadline = deadline,
            InvokedFunctionArn = Header(headers, "Lambda-Runtime-Invoked-Function-Arn"),
            TraceId = Header(headers, "Lambda-Runtime-Trace-Id"),
            ClientContext = Header(headers, "Lambda-Runtime-Client-Context"),
            CognitoIdentity = Header(headers, "Lambda-Runtime-Cognito-Identity"),
            Payload = payload,
        };
    }

    public async Task SendResponseAsync(string requestId, ReadOnlyMemory<byte> response, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _baseUrl + "invocation/" + Uri.EscapeDataString(requestId) + "/response")
        {
            Content = new ReadOnlyMemoryContent(response),
        };
        request.Content.Headers.ContentType = JsonType;
        using var _ = await SendAsync(request, "invocation response", cancellationToken).ConfigureAwait(false);
    }

    public Task SendInvocationErrorAsync(string requestId, LambdaError error, CancellationToken cancellationToken) =>
        PostErrorAsync(_baseUrl + "invocation/" + Uri.EscapeDataString(requestId) + "/error", error, "invocation error", cancellationToken);

    public Task SendInitErrorAsync(LambdaError error, CancellationToken cancellationToken) =>
        PostErrorAsync(_baseUrl + "init/error", error, "init error", cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task PostErrorAsync(string url, LambdaError error, string what, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(error, LambdaJsonContext.Default.LambdaError);
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = JsonType;
        request.Headers.TryAddWithoutValidation("Lambda-Runtime-Function-Error-Type", error.Category);
        using var _ = await SendAsync(request, what, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string what, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new RuntimeApiException($"The Lambda Runtime API at {_baseUrl} could not be reached for {what}: {ex.Message}. The execution environment is gone; the process exits so Lambda can start a new one.", 0, ex);
        }
        finally
        {
            request.Dispose();
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        var status = (int)response.StatusCode;
        var detail = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        response.Dispose();
        var advice = status >= 500
            ? "The Runtime API reported a container error; the process exits so Lambda can replace the execution environment."
            : status == 413
                ? "The payload exceeds Lambda's 6 MB response limit."
                : "The request id may be stale (already answered or timed out).";
        throw new RuntimeApiException($"The Lambda Runtime API answered {status} to the {what}: {Truncate(detail)}. {advice}", status);
    }

    private static string? Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
