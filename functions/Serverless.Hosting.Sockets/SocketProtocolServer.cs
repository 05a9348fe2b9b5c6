using System.Net;
using System.Net.Sockets;
using Serverless.Core.Protocol;

namespace Serverless.Hosting.Sockets;

/// <summary>Answers one request into the connection's (reused) response; the server sends it once the task completes.</summary>
public delegate Task ProtocolRequestHandler(ProtocolRequest request, BufferedProtocolResponse response, CancellationToken cancellationToken);

/// <summary>What <see cref="SocketServerOptions.RequestCompleted"/> is told after each response is sent.</summary>
public readonly record struct RequestCompletion(string Method, string Path, int StatusCode, TimeSpan Elapsed);

/// <summary>Limits and hooks of <see cref="SocketProtocolServer"/>; the defaults follow Kestrel's.</summary>
public sealed record SocketServerOptions
{
    /// <summary>Open connections at most; one more is answered 503 and closed.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>Longest request head (request line and headers) in bytes; a longer one is a 431.</summary>
    public int MaxRequestHeadBytes { get; init; } = 32 * 1024;

    /// <summary>How long an idle keep-alive connection is kept.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(130);

    /// <summary>How long a request head may take to arrive once its first byte has; a slower one is a 408.</summary>
    public TimeSpan RequestHeadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for the next bytes of a body (or for the client to take the response).</summary>
    public TimeSpan BodyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called after each response is sent (on the connection's thread); keep it cheap.</summary>
    public Action<RequestCompletion>? RequestCompleted { get; init; }

    /// <summary>Called when the handler throws (it should not: the protocol handler answers every error itself); the client gets a 500.</summary>
    public Action<Exception>? HandlerFailed { get; init; }
}

/// <summary>
/// An HTTP/1.1 server for the protocol handler on blocking sockets: one accept thread, and one thread per
/// connection that reads a request head, hands the request to the handler on that same thread (the body
/// read from the socket as the handler asks for it), and writes the buffered answer with one gathered send.
/// There is no pipeline and no thread-pool hop between the socket and the model, which is what a request's
/// fixed cost is made of on a small machine, and nothing to build before the first accept.
/// <para>
/// It speaks what the protocol needs and refuses the rest with a precise status: Content-Length and chunked
/// bodies, keep-alive and pipelining, <c>Expect: 100-continue</c>, HEAD; no TLS, no HTTP/2, no upgrades.
/// Heads are parsed strictly (<see cref="HttpRequestHead"/>). Connections are capped, idle ones time out,
/// and a stop lets requests in flight finish within the drain time.
/// </para>
/// </summary>
public sealed class SocketProtocolServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Thread _acceptThread;
    private readonly HashSet<HttpConnection> _connections = [];
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>How long a stop waits, after cancelling, for handlers that are still running.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(5);

    private volatile bool _stopping;
    private int _stopped;

    private SocketProtocolServer(Socket listener, ProtocolRequestHandler handler, SocketServerOptions options)
    {
        _listener = listener;
        Handler = handler;
        Options = options;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        var host = LocalEndPoint.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{LocalEndPoint.Address}]" : LocalEndPoint.Address.ToString();
        Address = new Uri($"http://{host}:{LocalEndPoint.Port}/");
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "http accept" };
    }

    /// <summary>The address bound, with the real port when 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public Uri Address { get; }

    internal ProtocolRequestHandler Handler { get; }

    internal SocketServerOptions Options { get; }

    internal bool Stopping => _stopping;

    internal CancellationToken Aborted => _abort.Token;

    /// <summary>Connections open now (for tests and the drain).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_connections)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>
    /// Binds <paramref name="endpoint"/> and starts accepting. An address in use (or another bind failure) is
    /// an <see cref="IOException"/> naming the address.
    /// </summary>
    public static SocketProtocolServer Start(IPEndPoint endpoint, ProtocolRequestHandler handler, SocketServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new SocketServerOptions();
        if (options.MaxConnections < 1 || options.MaxRequestHeadBytes < 256)
        {
            throw new ArgumentException("MaxConnections must be at least 1 and MaxRequestHeadBytes at least 256.", nameof(options));
        }

        foreach (var (name, timeout) in new[] { ("KeepAliveTimeout", options.KeepAliveTimeout), ("RequestHeadTimeout", options.RequestHeadTimeout), ("BodyTimeout", options.BodyTimeout) })
        {
            if (timeout <= TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue)
            {
                throw new ArgumentException($"{name} must be positive and at most {int.MaxValue} ms, not {timeout}.", nameof(options));
            }
        }

        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(endpoint);
            listener.Listen(512);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new IOException($"Failed to bind to address http://{endpoint}: {(ex.SocketErrorCode == SocketError.AddressAlreadyInUse ? "address already in use" : ex.Message)}.", ex);
        }

        var server = new SocketProtocolServer(listener, handler, options);
        server._acceptThread.UnsafeStart();
        return server;
    }

    /// <summary>
    /// Stops accepting, closes idle connections, lets requests in flight finish and send their answer (with
    /// <c>Connection: close</c>) within <paramref name="drain"/>, then cancels and closes what is left.
    /// </summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            await Task.WhenAny(_allClosed.Task, Task.Delay(drain + AbortGrace)).ConfigureAwait(false);
            return;
        }

        _stopping = true;
        _listener.Dispose();
        HttpConnection[] open;
        lock (_connections)
        {
            open = [.. _connections];
            if (open.Length == 0)
            {
                _allClosed.TrySetResult();
            }
        }

        foreach (var connection in open)
        {
            connection.CloseIfIdle();
        }

        if (await Task.WhenAny(_allClosed.Task, Task.Delay(drain)).ConfigureAwait(false) != _allClosed.Task)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            lock (_connections)
            {
                open = [.. _connections];
            }

            foreach (var connection in open)
            {
                connection.Abort();
            }

            // A handler that ignores its cancellation keeps its (background) thread; the stop does not wait for it forever.
            await Task.WhenAny(_allClosed.Task, Task.Delay(AbortGrace)).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _abort.Dispose();
    }

    internal void Remove(HttpConnection connection)
    {
        lock (_connections)
        {
            _connections.Remove(connection);
            if (_stopping && _connections.Count == 0)
            {
                _allClosed.TrySetResult();
            }
        }
    }

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                if (_stopping)
                {
                    return;
                }

                // Out of file descriptors or a connection reset before accept: wait a little, keep accepting.
                Thread.Sleep(10);
                continue;
            }

            try
            {
                socket.NoDelay = true;
            }
            catch (SocketException)
            {
                // Reset before we got to it (some systems refuse the option then): nothing to serve.
                socket.Dispose();
                continue;
            }

            var connection = new HttpConnection(this, socket);
            bool admitted;
            lock (_connections)
            {
                admitted = !_stopping && _connections.Count < Options.MaxConnections;
                if (admitted)
                {
                    _connections.Add(connection);
                }
            }

            if (!admitted)
            {
                connection.Refuse(_stopping ? "The server is shutting down." : $"The server has {Options.MaxConnections} connections open, its limit; retry shortly.");
                continue;
            }

            var thread = new Thread(connection.Run) { IsBackground = true, Name = "http connection" };
            thread.UnsafeStart();
        }
    }
}
