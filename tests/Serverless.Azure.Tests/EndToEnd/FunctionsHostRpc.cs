using System.Net;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Azure.Tests.EndToEnd;

/// <summary>
/// The Functions host's side of the host-worker protocol, as far as a test needs it: a gRPC server on loopback
/// (HTTP/2 without TLS, as the host runs it) implementing <c>FunctionRpc.EventStream</c> from the vendored
/// FunctionRpc.proto. The worker dials in and opens the stream; <see cref="AcceptAsync"/> hands the stream to
/// the test as a <see cref="WorkerStream"/>, which sends host messages and reads worker messages in order.
/// </summary>
public sealed class FunctionsHostRpc : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EventStreamService _service;

    private FunctionsHostRpc(WebApplication app, EventStreamService service, int port)
    {
        _app = app;
        _service = service;
        Port = port;
    }

    public int Port { get; }

    public Uri Uri => new($"http://127.0.0.1:{Port}/");

    public static async Task<FunctionsHostRpc> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = null);
        var service = new EventStreamService();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<EventStreamService>();
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        return new FunctionsHostRpc(app, service, port);
    }

    /// <summary>Waits for a worker to open its event stream (after it sends StartStream, which the returned stream yields first).</summary>
    public Task<WorkerStream> AcceptAsync(TimeSpan timeout) => _service.Accepted.Task.WaitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        _service.Close();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class EventStreamService : FunctionRpc.FunctionRpcBase
    {
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<WorkerStream> Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Close() => _closed.TrySetResult();

        public override async Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
        {
            var stream = new WorkerStream(responseStream);
            Accepted.TrySetResult(stream);
            try
            {
                while (await requestStream.MoveNext(context.CancellationToken))
                {
                    stream.Received(requestStream.Current);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or Grpc.Core.RpcException)
            {
                // The worker went away (it was stopped): nothing more to read.
            }
            finally
            {
                stream.Completed();
            }

            await _closed.Task.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>One worker's event stream: messages from the worker queue up in order; host messages are written one at a time.</summary>
public sealed class WorkerStream
{
    private readonly IServerStreamWriter<StreamingMessage> _writer;
    private readonly Channel<StreamingMessage> _inbox = Channel.CreateUnbounded<StreamingMessage>();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly List<string> _logs = [];

    internal WorkerStream(IServerStreamWriter<StreamingMessage> writer) => _writer = writer;

    /// <summary>The worker's RpcLog messages so far (level and text), for failure messages.</summary>
    public string Logs
    {
        get
        {
            lock (_logs)
            {
                return string.Join(Environment.NewLine, _logs);
            }
        }
    }

    public async Task SendAsync(StreamingMessage message)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _writer.WriteAsync(message);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next message with the given content, skipping logs and anything else; fails with the worker's logs on timeout.</summary>
    public async Task<StreamingMessage> ReceiveAsync(StreamingMessage.ContentOneofCase content, TimeSpan timeout, Func<StreamingMessage, bool>? match = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var message = await _inbox.Reader.ReadAsync(cts.Token);
                if (message.ContentCase == content && (match is null || match(message)))
                {
                    return message;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"The worker sent no {content} within {timeout.TotalSeconds:F0} s. Its logs:{Environment.NewLine}{Logs}", ex);
        }
    }

    internal void Received(StreamingMessage message)
    {
        if (message.ContentCase == StreamingMessage.ContentOneofCase.RpcLog)
        {
            lock (_logs)
            {
                _logs.Add($"{message.RpcLog.Level} {message.RpcLog.Category}: {message.RpcLog.Message} {message.RpcLog.Exception?.Message}");
            }
        }

        _inbox.Writer.TryWrite(message);
    }

    internal void Completed() => _inbox.Writer.TryComplete();
}
