using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Protocol;

namespace Serverless.Hosting.Sockets;

/// <summary>
/// One client connection, served by its own thread: read a head, run the handler, send the answer, repeat
/// while the connection is kept alive. Owns a receive buffer (unread bytes are <c>[_start, _end)</c>), the
/// request's body stream and a reused response buffer.
/// </summary>
internal sealed class HttpConnection
{
    private const int BufferSize = 64 * 1024;

    /// <summary>A body the handler left unread is dropped (and the connection kept) up to this size; past it, the connection closes.</summary>
    private const long MaxDrainBytes = 1024 * 1024;

    private const int Idle = 0;
    private const int Busy = 1;
    private const int Closed = 2;

    private static readonly byte[] ContinueBytes = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly SocketProtocolServer _server;
    private readonly Socket _socket;
    private readonly RequestBodyStream _body;
    private readonly List<ArraySegment<byte>> _sendList = new(2);
    private byte[] _buffer = [];
    private byte[] _head = new byte[512];
    private BufferedProtocolResponse? _response;
    private int _start;
    private int _end;
    private int _receiveTimeout = -1;
    private int _state = Idle;

    public HttpConnection(SocketProtocolServer server, Socket socket)
    {
        _server = server;
        _socket = socket;
        _body = new RequestBodyStream(this);
    }

    private SocketServerOptions Options => _server.Options;

    public void Run()
    {
        // A whole head of the longest length allowed, with its blank line, must fit: a larger limit than the
        // usual buffer would otherwise fill it and read nothing more, which looks like the client closing.
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(BufferSize, Options.MaxRequestHeadBytes + 4));
        _response = new BufferedProtocolResponse();
        try
        {
            _socket.SendTimeout = (int)Options.BodyTimeout.TotalMilliseconds;
            while (ServeOne())
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            // The client went away, a timeout passed while waiting for it, or the server closed us.
        }
        finally
        {
            Volatile.Write(ref _state, Closed);
            _socket.Dispose();
            _response.Dispose();
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _server.Remove(this);
        }
    }

    /// <summary>Called by the server's stop: an idle connection (waiting for a request) is closed now.</summary>
    public void CloseIfIdle()
    {
        if (Interlocked.CompareExchange(ref _state, Closed, Idle) == Idle)
        {
            ShutdownQuietly();
        }
    }

    /// <summary>Called when the drain time is over: the connection is closed whatever it is doing.</summary>
    public void Abort()
    {
        Volatile.Write(ref _state, Closed);
        ShutdownQuietly();
    }

    /// <summary>A connection over the limit: a 503 with a short send timeout, then close.</summary>
    public void Refuse(string message)
    {
        try
        {
            _socket.SendTimeout = 1000;
            var response = new BufferedProtocolResponse();
            try
            {
                WriteError(response, 503, message);
                response.SetHeader("Retry-After", "1");
                Send(response, head: null, keepAlive: false);
            }
            finally
            {
                response.Dispose();
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            // Gone already.
        }
        finally
        {
            _socket.Dispose();
        }
    }

    internal void SendContinue() => SendAll(ContinueBytes);

    /// <summary>Body bytes: buffered ones first, otherwise one receive straight into <paramref name="destination"/>. 0 at the end of the stream.</summary>
    internal int ReadBody(Span<byte> destination)
    {
        if (_end > _start)
        {
            var count = Math.Min(destination.Length, _end - _start);
            _buffer.AsSpan(_start, count).CopyTo(destination);
            _start += count;
            return count;
        }

        SetReceiveTimeout(Options.BodyTimeout);
        try
        {
            return _socket.Receive(destination);
        }
        catch (SocketException ex) when (IsTimeout(ex))
        {
            throw InferenceException.BadInput($"The request body stalled: no bytes for {Describe(Options.BodyTimeout)}.");
        }
    }

    /// <summary>A CRLF-terminated line of the body (chunk sizes, trailers), without the CRLF; valid until the next read.</summary>
    internal ReadOnlySpan<byte> ReadLine(int maxLength, string what)
    {
        var searched = 0;
        while (true)
        {
            var unread = _buffer.AsSpan(_start, _end - _start);
            var lf = unread[searched..].IndexOf((byte)'\n');
            if (lf >= 0)
            {
                lf += searched;
                if (lf == 0 || unread[lf - 1] != (byte)'\r')
                {
                    throw InferenceException.BadInput($"The chunked request body has a {what} line that does not end in CRLF.");
                }

                if (lf - 1 > maxLength)
                {
                    throw InferenceException.BadInput($"The chunked request body has a {what} line longer than {maxLength} bytes.");
                }

                _start += lf + 1;
                return unread[..(lf - 1)];
            }

            if (unread.Length > maxLength + 1)
            {
                throw InferenceException.BadInput($"The chunked request body has a {what} line longer than {maxLength} bytes.");
            }

            searched = unread.Length;
            if (Fill(Options.BodyTimeout) == 0)
            {
                throw InferenceException.BadInput($"The chunked request body ended inside a {what} line.");
            }
        }
    }

    private bool ServeOne()
    {
        if (_server.Stopping)
        {
            return false;
        }

        int headLength;
        try
        {
            headLength = ReadHead();
        }
        catch (HttpParseException ex)
        {
            RespondAndClose(ex.Status, ex.Message);
            return false;
        }

        if (headLength < 0 || Interlocked.CompareExchange(ref _state, Busy, Idle) != Idle)
        {
            return false;
        }

        var started = Stopwatch.GetTimestamp();
        HttpRequestHead head;
        try
        {
            head = HttpRequestHead.Parse(_buffer.AsSpan(_start, headLength));
        }
        catch (HttpParseException ex)
        {
            RespondAndClose(ex.Status, ex.Message);
            return false;
        }

        _start += headLength + 4;
        _body.Reset(head);
        var request = new ProtocolRequest(head.Method, head.Path, _body)
        {
            Query = head.Query,
            ContentType = head.ContentType,
            ContentLength = head.DeclaredLength,
            InferenceHeaderContentLength = head.InferenceHeaderContentLength,
        };
        var response = _response!;
        response.Clear();
        var failed = false;
        try
        {
            _server.Handler(request, response, _server.Aborted).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_server.Aborted.IsCancellationRequested)
        {
            return false;
        }
#pragma warning disable CA1031 // Any handler failure becomes a 500 for this request; the connection closes, the server keeps serving.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failed = true;
            Notify(Options.HandlerFailed, ex);
            response.Clear();
            WriteError(response, 500, "Internal server error while handling the request; the server log has the details.");
        }

        // Keep the connection only if the next request's start is known: the body was read to its end, or
        // what is left of it is small enough to drop now. After a handler failure it closes: its state is unknown.
        var keepAlive = head.KeepAlive && !failed && !_server.Stopping && !_body.Broken && _body.TryDrain(MaxDrainBytes);
        Send(response, head, keepAlive);
        Notify(Options.RequestCompleted, new RequestCompletion(head.Method, head.Path, response.StatusCode, Stopwatch.GetElapsedTime(started)));
        if (!keepAlive)
        {
            LingeringClose();
            return false;
        }

        return Interlocked.CompareExchange(ref _state, Idle, Busy) == Busy && !_server.Stopping;
    }

    /// <summary>
    /// Waits for a whole request head; returns its length up to (not including) the blank line's CRLFCRLF,
    /// or -1 when the client closed the connection (or the keep-alive time passed) before sending a byte.
    /// </summary>
    private int ReadHead()
    {
        var deadline = 0L;
        var searched = 0;
        while (true)
        {
            // Empty lines before a request line are allowed (RFC 9112, 2.2) and skipped.
            while (_end - _start >= 2 && _buffer[_start] == (byte)'\r' && _buffer[_start + 1] == (byte)'\n')
            {
                _start += 2;
                searched = 0;
            }

            // The limit is on the head's length, whether its bytes arrive in one receive or in many; without its
            // blank line in MaxRequestHeadBytes + 4 bytes, the head is longer than the limit.
            var unread = _buffer.AsSpan(_start, _end - _start);
            var found = unread[Math.Max(0, searched - 3)..].IndexOf("\r\n\r\n"u8);
            var headLength = found < 0 ? -1 : Math.Max(0, searched - 3) + found;
            if (headLength > Options.MaxRequestHeadBytes || (found < 0 && unread.Length >= Options.MaxRequestHeadBytes + 4))
            {
                throw new HttpParseException(431, $"The request head is longer than {Options.MaxRequestHeadBytes} bytes.");
            }

            // A head with bare LF line ends would never end in CRLFCRLF: refuse it now, not at the head timeout.
            // Only the head's bytes not looked at before are scanned (what follows the head is body).
            var headBytes = found < 0 ? unread.Length : headLength;
            if (HasBareLineFeed(unread, Math.Min(searched, headBytes), headBytes))
            {
                throw new HttpParseException(400, "The request head has a line ending in a bare LF; end each line with CRLF.");
            }

            if (found >= 0)
            {
                return headLength;
            }

            searched = unread.Length;
            TimeSpan wait;
            if (unread.IsEmpty)
            {
                wait = Options.KeepAliveTimeout;
            }
            else
            {
                if (deadline == 0)
                {
                    deadline = Stopwatch.GetTimestamp() + (long)(Options.RequestHeadTimeout.TotalSeconds * Stopwatch.Frequency);
                }

                wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (wait <= TimeSpan.Zero)
                {
                    throw HeadTimedOut();
                }
            }

            int read;
            try
            {
                read = Fill(wait);
            }
            catch (SocketException ex) when (IsTimeout(ex))
            {
                if (unread.IsEmpty)
                {
                    return -1;
                }

                throw HeadTimedOut();
            }

            if (read == 0)
            {
                // A client that closes mid-head gets nothing: it is not listening.
                return -1;
            }
        }
    }

    private HttpParseException HeadTimedOut() => new(408, $"The request head did not arrive within {Describe(Options.RequestHeadTimeout)}.");

    /// <summary>A blocking receive that passed its timeout (Linux reports it as WouldBlock).</summary>
    private static bool IsTimeout(SocketException ex) => ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock;

    /// <summary>True when <c>bytes[from..to]</c> has an LF not preceded by CR (the byte before <paramref name="from"/> counts).</summary>
    private static bool HasBareLineFeed(ReadOnlySpan<byte> bytes, int from, int to)
    {
        while (from < to)
        {
            var lf = bytes[from..to].IndexOf((byte)'\n');
            if (lf < 0)
            {
                return false;
            }

            from += lf;
            if (from == 0 || bytes[from - 1] != (byte)'\r')
            {
                return true;
            }

            from++;
        }

        return false;
    }

    /// <summary>Receives more bytes into the buffer (moving the unread ones to its start first when needed); returns the count, 0 at end of stream.</summary>
    private int Fill(TimeSpan timeout)
    {
        if (_start > 0 && (_end == _buffer.Length || _start == _end))
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        SetReceiveTimeout(timeout);
        var read = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
        _end += read;
        return read;
    }

    private void SetReceiveTimeout(TimeSpan timeout)
    {
        var ms = (int)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 1, int.MaxValue);
        if (ms != _receiveTimeout)
        {
            _socket.ReceiveTimeout = ms;
            _receiveTimeout = ms;
        }
    }

    private void RespondAndClose(int status, string message)
    {
        var response = _response!;
        response.Clear();
        WriteError(response, status, message);
        Send(response, head: null, keepAlive: false);
        Notify(Options.RequestCompleted, new RequestCompletion("-", "-", status, TimeSpan.Zero));
        LingeringClose();
    }

    /// <summary>
    /// Closes after a response the client may still be sending a body for: stop sending, then read and drop
    /// what arrives for a moment, so the close is not a reset that destroys the response before it is read.
    /// </summary>
    private void LingeringClose()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            SetReceiveTimeout(TimeSpan.FromSeconds(1));
            var scratch = _buffer;
            long dropped = 0;
            while (dropped < 16 * 1024 * 1024)
            {
                var read = _socket.Receive(scratch, 0, scratch.Length, SocketFlags.None);
                if (read == 0)
                {
                    break;
                }

                dropped += read;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Timed out or reset: closing anyway.
        }
    }

    private void Send(BufferedProtocolResponse response, HttpRequestHead? head, bool keepAlive)
    {
        var withBody = response.BodyLength > 0 && head?.IsHead != true;
        var headLength = WriteHead(response, head, keepAlive);
        if (!withBody)
        {
            SendAll(_head.AsSpan(0, headLength));
            return;
        }

        var body = response.BodyMemory;
        if (!MemoryMarshal.TryGetArray(body, out var bodySegment))
        {
            bodySegment = new ArraySegment<byte>(body.ToArray());
        }

        _sendList.Clear();
        _sendList.Add(new ArraySegment<byte>(_head, 0, headLength));
        _sendList.Add(bodySegment);
        var sent = _socket.Send(_sendList, SocketFlags.None);
        var total = headLength + bodySegment.Count;
        if (sent < total)
        {
            // A blocking send normally takes everything; finish by hand if it did not.
            if (sent < headLength)
            {
                SendAll(_head.AsSpan(sent, headLength - sent));
                sent = headLength;
            }

            SendAll(bodySegment.AsSpan(sent - headLength));
        }
    }

    private void SendAll(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = _socket.Send(bytes);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Status line and headers into <see cref="_head"/>; returns the length.</summary>
    private int WriteHead(BufferedProtocolResponse response, HttpRequestHead? head, bool keepAlive)
    {
        var needed = 256 + response.ContentType.Length;
        foreach (var (name, value) in response.Headers)
        {
            needed += name.Length + value.Length + 4;
        }

        if (_head.Length < needed)
        {
            _head = new byte[Math.Max(needed, _head.Length * 2)];
        }

        var span = _head.AsSpan();
        var at = 0;
        Append(span, ref at, "HTTP/1.1 ");
        AppendNumber(span, ref at, response.StatusCode);
        Append(span, ref at, " ");
        Append(span, ref at, Reason(response.StatusCode));
        Append(span, ref at, "\r\nContent-Type: ");
        AppendHeaderValue(span, ref at, response.ContentType);
        Append(span, ref at, "\r\nContent-Length: ");
        AppendNumber(span, ref at, response.BodyLength);
        Append(span, ref at, "\r\nDate: ");
        Append(span, ref at, HttpDate.Now);
        foreach (var (name, value) in response.Headers)
        {
            Append(span, ref at, "\r\n");
            AppendHeaderValue(span, ref at, name);
            Append(span, ref at, ": ");
            AppendHeaderValue(span, ref at, value);
        }

        if (!keepAlive)
        {
            Append(span, ref at, "\r\nConnection: close");
        }
        else if (head is { IsHttp11: false })
        {
            Append(span, ref at, "\r\nConnection: keep-alive");
        }

        Append(span, ref at, "\r\n\r\n");
        return at;
    }

    private static void Append(Span<byte> span, ref int at, string ascii) => at += Encoding.ASCII.GetBytes(ascii, span[at..]);

    /// <summary>A number's decimal digits, written in place (no string per request).</summary>
    private static void AppendNumber(Span<byte> span, ref int at, long value)
    {
        System.Buffers.Text.Utf8Formatter.TryFormat(value, span[at..], out var written);
        at += written;
    }

    /// <summary>Header text from the handler: CR, LF and other control characters would split the head, so they are replaced.</summary>
    private static void AppendHeaderValue(Span<byte> span, ref int at, string text)
    {
        foreach (var c in text)
        {
            span[at++] = c is < ' ' or > '~' ? (byte)'?' : (byte)c;
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => "Status",
    };

    /// <summary>The protocol's error body, <c>{"error":"..."}</c>.</summary>
    private static void WriteError(BufferedProtocolResponse response, int status, string message)
    {
        response.StatusCode = status;
        response.ContentType = ProtocolContentTypes.Json;
        using var writer = new Utf8JsonWriter(response.Body);
        writer.WriteStartObject();
        writer.WriteString("error", message);
        writer.WriteEndObject();
    }

    /// <summary>Runs a host's hook; a hook that throws must not take the connection's thread (and the process) down.</summary>
    private static void Notify<T>(Action<T>? hook, T value)
    {
        if (hook is null)
        {
            return;
        }

        try
        {
            hook(value);
        }
#pragma warning disable CA1031 // A logging hook's failure is not the client's problem; there is nowhere better to report it.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>A timeout for a message: "30 s", or "250 ms" below a second.</summary>
    internal static string Describe(TimeSpan timeout) =>
        timeout < TimeSpan.FromSeconds(1)
            ? string.Create(CultureInfo.InvariantCulture, $"{timeout.TotalMilliseconds:0} ms")
            : string.Create(CultureInfo.InvariantCulture, $"{timeout.TotalSeconds:0.#} s");

    private void ShutdownQuietly()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }

    /// <summary>The Date header's value, formatted once per second.</summary>
    private static class HttpDate
    {
        private static string s_text = string.Empty;
        private static long s_second = -1;

        public static string Now
        {
            get
            {
                var now = DateTimeOffset.UtcNow;
                var second = now.ToUnixTimeSeconds();
                if (second != Volatile.Read(ref s_second))
                {
                    s_text = now.ToString("R", CultureInfo.InvariantCulture);
                    Volatile.Write(ref s_second, second);
                }

                return s_text;
            }
        }
    }
}
