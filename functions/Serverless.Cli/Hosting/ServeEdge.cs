using System.Buffers;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Core.Protocol;
using Serverless.Hosting.AspNetCore;
using Serverless.Hosting.Sockets;

namespace Serverless.Cli.Hosting;

/// <summary>Which HTTP server <c>serve</c> puts in front of the protocol handler.</summary>
internal enum HttpServerKind
{
    /// <summary><see cref="SocketProtocolServer"/>: blocking sockets, one thread per connection (the default).</summary>
    Sockets,

    /// <summary>Kestrel alone (<see cref="KestrelProtocolServer"/>), as the Azure custom handler and the GPU server use.</summary>
    Kestrel,
}

/// <summary>
/// The HTTP edge of <c>serve</c>: either server, started with the same request handling. Requests that
/// arrive while the catalog is still being read wait for it (or get a 503 if the start fails); each answered
/// request is logged after its response is sent, so the log line costs the client nothing.
/// </summary>
internal abstract partial class ServeEdge : IAsyncDisposable
{
    public abstract string Name { get; }

    public abstract Uri BaseAddress { get; }

    public abstract Task StopAsync(TimeSpan drain);

    public abstract ValueTask DisposeAsync();

    public static async Task<ServeEdge> StartAsync(HttpServerKind kind, IPEndPoint endpoint, Task<ProtocolHandler> handler, ILoggerFactory loggerFactory, ILogger logger, CancellationToken cancellationToken)
    {
        if (kind == HttpServerKind.Kestrel)
        {
            var adapter = new KestrelProtocolAdapter((request, response, ct) => HandleAsync(handler, request, response, ct));
            var kestrel = await KestrelProtocolServer.StartAsync(endpoint, context => HandleKestrelAsync(adapter, context, logger), loggerFactory, cancellationToken)
                .ConfigureAwait(false);
            return new KestrelEdge(kestrel);
        }

        var options = new SocketServerOptions
        {
            RequestCompleted = completion => Completed(logger, completion.Method, completion.Path, completion.StatusCode, completion.Elapsed),
            HandlerFailed = ex => LogHandlerFailed(logger, ex),
        };
        var server = SocketProtocolServer.Start(endpoint, (request, response, ct) => HandleAsync(handler, request, response, ct), options);
        return new SocketsEdge(server);
    }

    /// <summary>Both edges' request handling: the protocol handler once the catalog is read (waiting for it if need be).</summary>
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

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "The request handler failed; the client got a 500")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);

    private sealed class SocketsEdge(SocketProtocolServer server) : ServeEdge
    {
        public override string Name => "socket server";

        public override Uri BaseAddress => server.Address;

        public override Task StopAsync(TimeSpan drain) => server.StopAsync(drain);

        public override ValueTask DisposeAsync() => server.DisposeAsync();
    }

    private sealed class KestrelEdge(KestrelProtocolServer server) : ServeEdge
    {
        public override string Name => "kestrel";

        public override Uri BaseAddress => server.Addresses.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no address.");

        public override Task StopAsync(TimeSpan drain) => server.StopAsync(drain);

        public override ValueTask DisposeAsync() => server.DisposeAsync();
    }
}
