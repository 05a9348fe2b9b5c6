using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serverless.Core.Protocol;

namespace Serverless.Hosting.AspNetCore;

/// <summary>
/// Translates a Kestrel <see cref="HttpContext"/> into a <see cref="ProtocolRequest"/> and the handler's
/// buffered answer back into the HTTP response. It is the whole HTTP edge: no routing, no MVC, because
/// the core handler owns routes, limits and error mapping. The request body is handed over as Kestrel's
/// stream (its refusals turned into the protocol's 4xx) so the handler can stop reading at its own byte limit; the response is buffered (pooled) so
/// Content-Length is known and an error can still replace a half-written success.
/// The CLI server, the Azure custom handler and the GPU server all use this one adapter.
/// </summary>
public sealed class KestrelProtocolAdapter
{
    private const int MaxPooledResponses = 64;
    private const long MaxPooledBodyBytes = 4L * 1024 * 1024;

    private readonly Func<ProtocolRequest, IProtocolResponse, CancellationToken, Task> _handle;
    private readonly ConcurrentQueue<BufferedProtocolResponse> _responses = new();
    private int _pooledCount;

    public KestrelProtocolAdapter(ProtocolHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handle = handler.HandleAsync;
    }

    /// <summary>
    /// Over any handling of a <see cref="ProtocolRequest"/> (the CLI's waits for a catalog still being read
    /// before it reaches the protocol handler).
    /// </summary>
    public KestrelProtocolAdapter(Func<ProtocolRequest, IProtocolResponse, CancellationToken, Task> handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        _handle = handle;
    }

    /// <summary>Kestrel's request delegate: answers every request through the protocol handler.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
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

    /// <summary>
    /// Runs the handler into <paramref name="response"/> without sending it, for hosts that amend an answer
    /// (the GPU server adds execution providers to <c>GET /v2</c>) before <see cref="SendAsync"/>.
    /// </summary>
    public Task RunAsync(HttpContext context, BufferedProtocolResponse response)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.Request;
        var request = new ProtocolRequest(http.Method, http.Path.HasValue ? http.Path.Value! : "/", Body(context))
        {
            Query = http.QueryString.HasValue ? http.QueryString.Value![1..] : null,
            ContentType = http.ContentType,
            ContentLength = http.ContentLength,
            InferenceHeaderContentLength = http.Headers.TryGetValue(ProtocolContentTypes.InferenceHeaderContentLength, out var header)
                ? header.ToString()
                : null,
        };
        return _handle(request, response, context.RequestAborted);
    }

    /// <summary>The request body, with Kestrel's refusals while it streams turned into the protocol's 4xx; none is wrapped for requests that cannot have one.</summary>
    private static Stream Body(HttpContext context)
    {
        var features = context.Features;
        if (features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return context.Request.Body;
        }

        return new KestrelRequestBody(context.Request.Body, features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize);
    }

    /// <summary>Writes a buffered answer (status, headers such as Retry-After, body with a known length) to Kestrel.</summary>
    public static async Task SendAsync(HttpContext context, BufferedProtocolResponse response)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(response);
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
        if (response.BodyLength <= MaxPooledBodyBytes)
        {
            if (Interlocked.Increment(ref _pooledCount) <= MaxPooledResponses)
            {
                response.Clear();
                _responses.Enqueue(response);
                return;
            }

            Interlocked.Decrement(ref _pooledCount);
        }

        response.Dispose();
    }
}
