using System.Buffers;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Core.Protocol;
using Serverless.Hosting.AspNetCore;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The HTTP edge of <c>serve</c>: Kestrel alone (<see cref="KestrelProtocolServer"/>, as the Azure custom handler
/// and the GPU server use it) under <see cref="KestrelEdgeLimits"/>, in front of the protocol handler. Requests
/// that arrive while the catalog is still being read wait for it (or get a 503 if the start fails); each answered
/// request is logged after its response is sent, so the log line costs the client nothing.
/// </summary>
internal sealed partial class ServeEdge : IAsyncDisposable
{
    private readonly KestrelProtocolServer _server;

    private ServeEdge(KestrelProtocolServer server)
    {
        _server = server;
    }

    public string Name => "kestrel";

    public Uri BaseAddress => _server.Addresses.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no address.");

    /// <summary>
    /// serve's limits: the request body capped at the protocol handler's own limit (so Kestrel and the handler
    /// refuse the same bodies, whichever sees it first), the rest <see cref="KestrelEdgeLimits"/>' defaults.
    /// </summary>
    public static KestrelEdgeLimits Limits(long maxRequestBytes) => new() { MaxRequestBodyBytes = maxRequestBytes };

    public static async Task<ServeEdge> StartAsync(IPEndPoint endpoint, KestrelEdgeLimits limits, Task<ProtocolHandler> handler, ILoggerFactory loggerFactory, ILogger logger, CancellationToken cancellationToken)
    {
        var adapter = new KestrelProtocolAdapter((request, response, ct) => HandleAsync(handler, request, response, ct));
        var kestrel = await KestrelProtocolServer.StartAsync(endpoint, context => HandleKestrelAsync(adapter, context, logger), limits, loggerFactory, cancellationToken)
            .ConfigureAwait(false);
        return new ServeEdge(kestrel);
    }

    public Task StopAsync(TimeSpan drain) => _server.StopAsync(drain);

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    /// <summary>The protocol handler once the catalog is read (waiting for it if need be).</summary>
    private static Task HandleAsync(Task<ProtocolHandler> handler, ProtocolRequest request, IProtocolResponse response, CancellationToken cancellationToken)
    {
        StartupTrace.MarkOnce(StartupTrace.Once.FirstRequest, "first request received");
        return handler.IsCompletedSuccessfully
            ? handler.Result.HandleAsync(request, response, cancellationToken)
            : HandleWhenReadyAsync(handler, request, response, cancellationToken);
    }

    private static async Task HandleWhenReadyAsync(Task<ProtocolHandler> handler, ProtocolRequest request, IProtocolResponse response, CancellationToken cancellationToken)
    {
        // A request that arrived while the catalog was still being read waits for it.
        try
        {
            await handler.ConfigureAwait(false);
        }
        catch (TaskCanceledException)
        {
            // The catalog failed: the start is being abandoned and the process reports why.
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.ContentType = ProtocolContentTypes.Json;
            response.Body.Write("{\"error\":\"The server is not ready: it failed to start.\"}"u8);
            return;
        }

        await handler.Result.HandleAsync(request, response, cancellationToken).ConfigureAwait(false);
    }

    private static async Task HandleKestrelAsync(KestrelProtocolAdapter adapter, HttpContext context, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        await adapter.HandleAsync(context).ConfigureAwait(false);

        // Sent now, so the log line below costs the client nothing (Kestrel would otherwise finish the
        // response only after this delegate returns).
        await context.Response.CompleteAsync().ConfigureAwait(false);
        Completed(logger, context.Request.Method, context.Request.Path.Value ?? "/", context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
    }

    private static void Completed(ILogger logger, string method, string path, int status, TimeSpan elapsed)
    {
        if (StartupTrace.Enabled)
        {
            // Guarded: the interpolated text would otherwise be built on every request with the trace off.
            StartupTrace.MarkOnce(StartupTrace.Once.FirstResponse, $"first response sent ({status})");
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            LogRequest(logger, method, path, status, elapsed.TotalMilliseconds);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Path} {Status} {Milliseconds:F1} ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, double milliseconds);

    /// <summary>The protocol handler's unexpected failures (the client got a 500 whose body points at this log).</summary>
    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "The request handler failed; the client got a 500")]
    public static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
