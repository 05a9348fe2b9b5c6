using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Bench.Driver;

/// <summary>One HTTP/1.1 response as <see cref="RawHttpConnection"/> read it (head parsed, body de-chunked).</summary>
internal sealed record RawHttpResponse(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>
/// The smallest HTTP/1.1 keep-alive client that measures the server rather than itself: one loopback socket
/// with TCP_NODELAY, blocking calls (no async state machine, no thread-pool hop between the kernel and the
/// clock), the request bytes (head and body) built once by <see cref="BuildRequest"/> and sent as one
/// socket send, and the response read into a reused buffer until its end: Content-Length bytes, or the
/// zero-size chunk and the trailers of a chunked body. Timed reads only scan for the end; the untimed
/// <see cref="Exchange"/> also keeps the headers and the body for checks. Sequential: one request in
/// flight at a time. A response that closes the connection, or has neither Content-Length nor chunked
/// framing, is an error rather than a silent reconnect, because it would change what is timed.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> LineEnd => "\r\n"u8;

    private readonly Socket _socket;
    private byte[] _buffer;

    // Received bytes not yet consumed are _buffer[_start.._end].
    private int _start;
    private int _end;

    // The last response said 'Connection: close': nothing more may be sent on this connection.
    private bool _closed;

    private RawHttpConnection(Socket socket, int bufferSize)
    {
        _socket = socket;
        _buffer = new byte[bufferSize];
    }

    public static RawHttpConnection Connect(int port, TimeSpan timeout, int bufferSize = 1 << 16)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
            SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawHttpConnection(socket, bufferSize);
    }

    /// <summary>
    /// The complete request bytes: request line, Host, Content-Type and Content-Length (when there is a body),
    /// the extra headers, a blank line and the body.
    /// </summary>
    public static byte[] BuildRequest(string method, string path, int port, string? contentType, ReadOnlySpan<byte> body, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(path).Append(" HTTP/1.1\r\n");
        head.Append("Host: 127.0.0.1:").Append(port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
        if (contentType is not null)
        {
            head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        }

        if (contentType is not null || body.Length > 0)
        {
            head.Append("Content-Length: ").Append(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
        }

        foreach (var (name, value) in headers ?? [])
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        var headBytes = Encoding.ASCII.GetBytes(head.ToString());
        var request = new byte[headBytes.Length + body.Length];
        headBytes.CopyTo(request, 0);
        body.CopyTo(request.AsSpan(headBytes.Length));
        return request;
    }

    /// <summary>One timed request: send, read to the end of the response, return the status and milliseconds.</summary>
    public (int Status, double Milliseconds) Time(byte[] request)
    {
        var started = Stopwatch.GetTimestamp();
        Send(request);
        var status = ReadResponse(null, null);
        return (status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>One untimed request whose headers and body are kept for checks.</summary>
    public RawHttpResponse Exchange(byte[] request)
    {
        Send(request);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var body = new MemoryStream();
        var status = ReadResponse(headers, body);
        return new RawHttpResponse(status, headers, body.ToArray());
    }

    public void Dispose() => _socket.Dispose();

    private void Send(byte[] request)
    {
        if (_closed)
        {
            throw new InvalidOperationException("The server closed this keep-alive connection after its last response ('Connection: close'); the lane does not reconnect, because a new connection would be timed.");
        }

        if (_end > _start)
        {
            throw new InvalidOperationException($"{_end - _start} bytes arrived that belong to no request; the previous response was framed wrongly.");
        }

        // A blocking send of a stream socket returns when everything is queued; the loop only guards the contract.
        var sent = 0;
        while (sent < request.Length)
        {
            sent += _socket.Send(request, sent, request.Length - sent, SocketFlags.None);
        }
    }

    /// <summary>Reads one response; fills <paramref name="headers"/> and <paramref name="body"/> when given.</summary>
    private int ReadResponse(Dictionary<string, string>? headers, MemoryStream? body)
    {
        int headLength;
        while ((headLength = _buffer.AsSpan(_start, _end - _start).IndexOf(HeadEnd)) < 0)
        {
            Fill();
        }

        var head = _buffer.AsSpan(_start, headLength);
        _start += headLength + HeadEnd.Length;

        // Status line: HTTP/1.1 SP 3DIGIT SP reason.
        var lineEnd = head.IndexOf(LineEnd);
        var statusLine = lineEnd < 0 ? head : head[..lineEnd];
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' '
            || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out var consumed) || consumed != 3)
        {
            throw new InvalidDataException($"Not an HTTP/1.x status line: '{Encoding.ASCII.GetString(statusLine)}'.");
        }

        long contentLength = -1;
        var chunked = false;
        var close = false;
        var rest = lineEnd < 0 ? [] : head[(lineEnd + LineEnd.Length)..];
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf(LineEnd);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + LineEnd.Length)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw new InvalidDataException($"Malformed header line: '{Encoding.ASCII.GetString(line)}'.");
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ').Trim((byte)'\t');
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out var used) || used != value.Length || contentLength < 0)
                {
                    throw new InvalidDataException($"Bad Content-Length '{Encoding.ASCII.GetString(value)}'.");
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                chunked = Ascii.EqualsIgnoreCase(value, "chunked"u8)
                    ? true
                    : throw new InvalidDataException($"Unsupported Transfer-Encoding '{Encoding.ASCII.GetString(value)}'.");
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8) && Ascii.EqualsIgnoreCase(value, "close"u8))
            {
                close = true;
            }

            if (headers is not null)
            {
                var key = Encoding.ASCII.GetString(name);
                var text = Encoding.ASCII.GetString(value);
                headers[key] = headers.TryGetValue(key, out var previous) ? previous + ", " + text : text;
            }
        }

        if (status is >= 100 and < 200)
        {
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            headers?.Clear();
            return ReadResponse(headers, body);
        }

        _closed = close;
        if (status is 204 or 304)
        {
            return status;
        }

        if (chunked)
        {
            ReadChunked(body);
        }
        else if (contentLength >= 0)
        {
            ReadExactly(contentLength, body);
        }
        else
        {
            throw new InvalidDataException($"The {status} response has neither Content-Length nor chunked framing; its end would be the connection's close.");
        }

        return status;
    }

    private void ReadChunked(MemoryStream? body)
    {
        while (true)
        {
            var line = ReadLine();

            // chunk-size [; extensions]
            var semicolon = line.IndexOf((byte)';');
            var sizeText = (semicolon < 0 ? line : line[..semicolon]).Trim((byte)' ');
            if (!Utf8Parser.TryParse(sizeText, out long size, out var used, 'x') || used != sizeText.Length || size < 0)
            {
                throw new InvalidDataException($"Bad chunk size line '{Encoding.ASCII.GetString(line)}'.");
            }

            if (size == 0)
            {
                // Trailers, if any, then the blank line that ends the message.
                while (!ReadLine().IsEmpty)
                {
                }

                return;
            }

            ReadExactly(size, body);
            if (!ReadLine().IsEmpty)
            {
                throw new InvalidDataException("A chunk is longer than its declared size.");
            }
        }
    }

    /// <summary>The next line without its CRLF; valid until the next read.</summary>
    private ReadOnlySpan<byte> ReadLine()
    {
        int length;
        while ((length = _buffer.AsSpan(_start, _end - _start).IndexOf(LineEnd)) < 0)
        {
            Fill();
        }

        var line = _buffer.AsSpan(_start, length);
        _start += length + LineEnd.Length;
        return line;
    }

    private void ReadExactly(long count, MemoryStream? body)
    {
        while (count > 0)
        {
            if (_end == _start)
            {
                Fill();
            }

            var take = (int)Math.Min(count, _end - _start);
            body?.Write(_buffer, _start, take);
            _start += take;
            count -= take;
        }
    }

    /// <summary>Receives more bytes after the unconsumed ones, compacting or growing the buffer if it is full.</summary>
    private void Fill()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            var pending = _end - _start;
            if (_start == 0)
            {
                // A head or a line longer than the buffer: grow (bounded so a broken server cannot exhaust memory).
                if (_buffer.Length >= 1 << 24)
                {
                    throw new InvalidDataException("An HTTP head or chunk line is longer than 16 MB.");
                }

                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
                _start = 0;
                _end = pending;
            }
        }

        var received = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
        if (received == 0)
        {
            throw new IOException("The server closed the connection in the middle of a response.");
        }

        _end += received;
    }
}

