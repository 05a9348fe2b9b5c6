using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// A client that speaks raw bytes over one loopback socket: it sends exactly what a test gives it and reads
/// responses strictly (status line, CRLF headers, a body of exactly Content-Length bytes, none for HEAD).
/// Every receive has a generous timeout so that a server that never answers fails the test instead of hanging it.
/// </summary>
internal sealed class RawClient : IDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawClient(Socket socket)
    {
        _socket = socket;
    }

    public Socket Socket => _socket;

    public static RawClient Connect(IPEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.ReceiveTimeout = (int)Patience.TotalMilliseconds;
            socket.SendTimeout = (int)Patience.TotalMilliseconds;
            socket.Connect(endpoint);
            return new RawClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects to the host and port of <paramref name="baseAddress"/> (a loopback address).</summary>
    public static RawClient Connect(Uri baseAddress) => Connect(new IPEndPoint(IPAddress.Parse(baseAddress.Host), baseAddress.Port));

    public void Send(string latin1) => Send(Encoding.Latin1.GetBytes(latin1));

    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = _socket.Send(bytes);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Sends <paramref name="bytes"/> in pieces of the given sizes (cycled), pausing between them.</summary>
    public void SendInPieces(ReadOnlySpan<byte> bytes, int[] sizes, TimeSpan pause)
    {
        var i = 0;
        while (!bytes.IsEmpty)
        {
            var size = Math.Min(sizes[i++ % sizes.Length], bytes.Length);
            Send(bytes[..size]);
            bytes = bytes[size..];
            if (!bytes.IsEmpty && pause > TimeSpan.Zero)
            {
                Thread.Sleep(pause);
            }
        }
    }

    /// <summary>No more bytes from this side; the server can still answer.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Reads one whole response. <paramref name="headRequest"/>: the request was HEAD, so no body follows.</summary>
    public RawResponse ReadResponse(bool headRequest = false)
    {
        var head = ReadUntilBlankLine();
        var lines = head.Split("\r\n");
        var statusLine = lines[0];
        var parts = statusLine.Split(' ', 3);
        Assert.True(parts.Length == 3 && parts[0] == "HTTP/1.1" && parts[1].Length == 3, $"status line '{statusLine}'");
        var status = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, $"header line '{line}'");
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var response = new RawResponse(statusLine, status, headers, []);
        if (headRequest || status is 100 or 204 or 304)
        {
            return response;
        }

        var lengthText = response.Header("Content-Length");
        Assert.NotNull(lengthText);
        Assert.DoesNotContain(headers, h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase));
        var length = int.Parse(lengthText, System.Globalization.CultureInfo.InvariantCulture);
        return response with { Body = ReadExactly(length) };
    }

    /// <summary>The exact bytes of the next <paramref name="count"/> bytes the server sends (for interim responses).</summary>
    public byte[] ReadExactly(int count)
    {
        var result = new byte[count];
        var at = 0;
        while (at < count)
        {
            if (_end == _start)
            {
                _start = _end = 0;
                var read = Receive(_buffer);
                Assert.True(read > 0, $"the connection closed after {at} of {count} bytes");
                _end = read;
            }

            var take = Math.Min(count - at, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(result.AsSpan(at));
            _start += take;
            at += take;
        }

        return result;
    }

    /// <summary>
    /// True when the server closes the connection (end of stream or a reset) within <paramref name="within"/>
    /// without sending another byte; fails if it sends bytes, false if it keeps the connection open.
    /// </summary>
    public bool ClosedByServer(TimeSpan within)
    {
        Assert.True(_end == _start, $"unread bytes: {Encoding.Latin1.GetString(_buffer, _start, _end - _start)}");
        var previous = _socket.ReceiveTimeout;
        _socket.ReceiveTimeout = (int)within.TotalMilliseconds;
        try
        {
            var scratch = new byte[1024];
            var read = _socket.Receive(scratch);
            Assert.True(read == 0, $"the server sent more: {Encoding.Latin1.GetString(scratch, 0, read)}");
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
            return true;
        }
        finally
        {
            _socket.ReceiveTimeout = previous;
        }
    }

    public void Dispose() => _socket.Dispose();

    private int Receive(byte[] into)
    {
        try
        {
            return _socket.Receive(into);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new TimeoutException($"no bytes from the server within {Patience.TotalSeconds} s", ex);
        }
    }

    private string ReadUntilBlankLine()
    {
        while (true)
        {
            var unread = _buffer.AsSpan(_start, _end - _start);
            var found = unread.IndexOf("\r\n\r\n"u8);
            if (found >= 0)
            {
                var text = Encoding.Latin1.GetString(unread[..found]);
                _start += found + 4;
                return text;
            }

            if (_start > 0)
            {
                unread.CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            Assert.True(read > 0, $"the connection closed before a whole response head; got '{Encoding.Latin1.GetString(_buffer, 0, _end)}'");
            _end += read;
        }
    }
}
