using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Protocol;

namespace Serverless.Gpu.Hosting;

/// <summary>
/// The Kestrel edge: turns an <see cref="HttpContext"/> into a <see cref="ProtocolRequest"/> and the handler's
/// buffered answer (status, Retry-After and other headers, body with a known length) back into the HTTP
/// response. The same pattern as the CLI's KestrelProtocolAdapter, kept in this one file so it can be
/// replaced by a shared adapter when that moves out of the CLI.
/// </summary>
internal sealed class ProtocolEndpoint(ProtocolHandler handler)
{
    private const int MaxPooledResponses = 64;
    private const long MaxPooledBodyBytes = 4L * 1024 * 1024;

    private readonly ConcurrentQueue<BufferedProtocolResponse> _responses = new();
    private int _pooledCount;

    public ProtocolHandler Handler { get; } = handler;

    /// <summary>Answers the request through the protocol handler.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var response = RentResponse();
        try
        {
            await RunAsync(context, response).ConfigureAwait(false);
            await SendAsync(context, response).ConfigureAwait(false);
        }
        finally
        {
            ReturnResponse(response);
        }
    }

    /// <summary>Runs the handler into <paramref name="response"/> without sending it (for endpoints that amend the answer).</summary>
    public Task RunAsync(HttpContext context, BufferedProtocolResponse response)
    {
        var http = context.Request;
        var request = new ProtocolRequest(http.Method, http.Path.HasValue ? http.Path.Value! : "/", http.Body)
        {
            Query = http.QueryString.HasValue ? http.QueryString.Value![1..] : null,
            ContentType = http.ContentType,
            ContentLength = http.ContentLength,
            InferenceHeaderContentLength = http.Headers.TryGetValue(ProtocolContentTypes.InferenceHeaderContentLength, out var header)
                ? header.ToString()
                : null,
        };
        return Handler.HandleAsync(request, response, context.RequestAborted);
    }

    public static async Task SendAsync(HttpContext context, BufferedProtocolResponse response)
    {
        var reply = context.Response;
        reply.StatusCode = response.StatusCode;
        reply.ContentType = response.ContentType;
        foreach (var (name, value) in response.Headers)
        {
            reply.Headers[name] = value;
        }

        reply.ContentLength = response.BodyLength;
        if (response.BodyLength > 0 && !HttpMethods.IsHead(context.Request.Method))
        {
            await response.CopyToAsync(reply.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private BufferedProtocolResponse RentResponse()
    {
        if (_responses.TryDequeue(out var response))
        {
            Interlocked.Decrement(ref _pooledCount);
            return response;
        }

        return new BufferedProtocolResponse();
    }

    private void ReturnResponse(BufferedProtocolResponse response)
    {
        // A response that grew very large keeps its big buffer; drop it rather than hold that memory in the pool.
        if (response.BodyLength <= MaxPooledBodyBytes && Interlocked.Increment(ref _pooledCount) <= MaxPooledResponses)
        {
            response.Clear();
            _responses.Enqueue(response);
            return;
        }

        if (response.BodyLength <= MaxPooledBodyBytes)
        {
            Interlocked.Decrement(ref _pooledCount);
        }

        response.Dispose();
    }
}
