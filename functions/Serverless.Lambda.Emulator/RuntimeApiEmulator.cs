using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Serverless.Lambda.Emulator;

/// <summary>
/// A loopback Lambda Runtime API (2018-06-01) on Kestrel. <see cref="InvokeAsync"/> queues an event the
/// runtime picks up with <c>GET /runtime/invocation/next</c> and completes when the runtime posts the
/// response or error. It enforces what Lambda enforces and a local test needs: one answer per request id,
/// the 6 MB response cap (413), the deadline header. <see cref="FailNextWith"/> injects a Runtime API
/// failure so tests can prove the runtime exits.
/// </summary>
public sealed class RuntimeApiEmulator : IAsyncDisposable
{
    /// <summary>Lambda's synchronous response cap; larger responses get 413 like the real service.</summary>
    public const int MaxResponseBytes = 6 * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly Channel<PendingInvocation> _queue = Channel.CreateUnbounded<PendingInvocation>();
    private readonly ConcurrentDictionary<string, PendingInvocation> _inFlight = new();
    private readonly TaskCompletionSource<RuntimeError> _initError = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<DateTimeOffset> _firstNext = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failNextStatus;
    private int _nextCalls;

    private RuntimeApiEmulator(WebApplication app)
    {
        _app = app;
    }

    /// <summary>host:port, the value for the runtime's <c>AWS_LAMBDA_RUNTIME_API</c>.</summary>
    public string Endpoint { get; private set; } = string.Empty;

    /// <summary>Completes when the runtime posts <c>/runtime/init/error</c>.</summary>
    public Task<RuntimeError> InitError => _initError.Task;

    /// <summary>Completes at the runtime's first <c>/next</c>, i.e. when its initialization is done.</summary>
    public Task<DateTimeOffset> FirstNextRequest => _firstNext.Task;

    /// <summary>Number of <c>/next</c> calls received.</summary>
    public int NextCalls => Volatile.Read(ref _nextCalls);

    /// <summary>Starts on 127.0.0.1 at <paramref name="port"/> (0 picks a free port).</summary>
    public static async Task<RuntimeApiEmulator> StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = 16L * 1024 * 1024;
        });
        var app = builder.Build();
        var emulator = new RuntimeApiEmulator(app);
        emulator.MapRoutes();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = new Uri(app.Urls.First());
        emulator.Endpoint = "127.0.0.1:" + address.Port.ToString(CultureInfo.InvariantCulture);
        return emulator;
    }

    /// <summary>Makes the next <c>/next</c> call answer <paramref name="statusCode"/> (e.g. 500), once.</summary>
    public void FailNextWith(int statusCode) => Volatile.Write(ref _failNextStatus, statusCode);

    /// <summary>
    /// Queues <paramref name="payload"/> and waits for the runtime's answer. <paramref name="timeout"/> is the
    /// function timeout (sent as the deadline); the wait gives up a little after it, as Lambda would.
    /// </summary>
    public async Task<InvocationResult> InvokeAsync(ReadOnlyMemory<byte> payload, TimeSpan timeout, string? traceId = null, CancellationToken cancellationToken = default)
    {
        var pending = new PendingInvocation(Guid.NewGuid().ToString(), payload, DateTimeOffset.UtcNow + timeout, traceId);
        _inFlight[pending.RequestId] = pending;
        await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        try
        {
            return await pending.Result.Task.WaitAsync(timeout + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _inFlight.TryRemove(pending.RequestId, out _);
            return new InvocationResult(pending.RequestId, true, "Sandbox.Timedout"u8.ToArray(), "Sandbox.Timedout", pending.Stopwatch.Elapsed);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private void MapRoutes()
    {
        _app.MapGet("/2018-06-01/runtime/invocation/next", NextAsync);
        _app.MapPost("/2018-06-01/runtime/invocation/{id}/response", (string id, HttpContext context) => CompleteAsync(id, context, isError: false));
        _app.MapPost("/2018-06-01/runtime/invocation/{id}/error", (string id, HttpContext context) => CompleteAsync(id, context, isError: true));
        _app.MapPost("/2018-06-01/runtime/init/error", InitErrorAsync);
    }

    private async Task NextAsync(HttpContext context)
    {
        Interlocked.Increment(ref _nextCalls);
        _firstNext.TrySetResult(DateTimeOffset.UtcNow);
        var fail = Interlocked.Exchange(ref _failNextStatus, 0);
        if (fail != 0)
        {
            context.Response.StatusCode = fail;
            await context.Response.WriteAsync("{\"errorMessage\":\"injected Runtime API failure\",\"errorType\":\"InvalidStateTransition\"}", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        PendingInvocation pending;
        try
        {
            pending = await _queue.Reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            return;
        }

        var headers = context.Response.Headers;
        headers["Lambda-Runtime-Aws-Request-Id"] = pending.RequestId;
        headers["Lambda-Runtime-Deadline-Ms"] = pending.Deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:us-east-1:000000000000:function:local";
        if (pending.TraceId is not null)
        {
            headers["Lambda-Runtime-Trace-Id"] = pending.TraceId;
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = pending.Payload.Length;
        await context.Response.Body.WriteAsync(pending.Payload, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task CompleteAsync(string id, HttpContext context, bool isError)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (!_inFlight.TryGetValue(id, out var pending))
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync("{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}").ConfigureAwait(false);
            return;
        }

        if (!isError && body.Length > MaxResponseBytes)
        {
            context.Response.StatusCode = 413;
            await context.Response.WriteAsync("{\"errorMessage\":\"Response payload size exceeded maximum allowed payload size (6291556 bytes).\",\"errorType\":\"RequestEntityTooLarge\"}").ConfigureAwait(false);
            return;
        }

        _inFlight.TryRemove(id, out _);
        var errorType = isError ? context.Request.Headers["Lambda-Runtime-Function-Error-Type"].ToString() : null;
        pending.Result.TrySetResult(new InvocationResult(id, isError, body, errorType, pending.Stopwatch.Elapsed));
        context.Response.StatusCode = 202;
        await context.Response.WriteAsync("{\"status\":\"OK\"}").ConfigureAwait(false);
    }

    private async Task InitErrorAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        _initError.TrySetResult(new RuntimeError(context.Request.Headers["Lambda-Runtime-Function-Error-Type"].ToString(), body));
        context.Response.StatusCode = 202;
        await context.Response.WriteAsync("{\"status\":\"OK\"}").ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private sealed class PendingInvocation(string requestId, ReadOnlyMemory<byte> payload, DateTimeOffset deadline, string? traceId)
    {
        public string RequestId { get; } = requestId;
        public ReadOnlyMemory<byte> Payload { get; } = payload;
        public DateTimeOffset Deadline { get; } = deadline;
        public string? TraceId { get; } = traceId;
        public Stopwatch Stopwatch { get; } = Stopwatch.StartNew();
        public TaskCompletionSource<InvocationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>What the runtime posted for one invocation: the response or, when <see cref="IsError"/>, the error document.</summary>
public sealed record InvocationResult(string RequestId, bool IsError, byte[] Body, string? ErrorType, TimeSpan Duration)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>An error the runtime posted to <c>/init/error</c>.</summary>
public sealed record RuntimeError(string ErrorType, byte[] Body)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}
