using System.Buffers.Text;
using Serverless.Core.Errors;

namespace Serverless.Hosting.Sockets;

/// <summary>
/// The body of one request, read from the connection: a Content-Length body, or a chunked one decoded as it
/// is read (chunk extensions ignored, trailers read and dropped). Reads block on the socket and complete
/// synchronously; bytes already buffered with the head are served first, and a large read goes straight from
/// the socket into the caller's buffer. A malformed chunk, a body that ends early or stalls past the body
/// timeout is an <see cref="InferenceException"/> (400) and leaves the stream <see cref="Broken"/>: the
/// connection answers and closes, since where the next request starts is no longer known.
/// The first read sends <c>100 Continue</c> when the client asked for it.
/// </summary>
internal sealed class RequestBodyStream : Stream
{
    /// <summary>Longest chunk-size line (size, extensions) or trailer line accepted.</summary>
    private const int MaxChunkLine = 4096;

    private readonly HttpConnection _connection;
    private BodyFraming _framing;
    private long _remaining;      // Content-Length: bytes left; chunked: bytes left in the current chunk
    private bool _finished;
    private bool _continueSent;
    private bool _expectContinue;

    public RequestBodyStream(HttpConnection connection) => _connection = connection;

    /// <summary>The body's framing could not be followed (or the client stopped sending it); the connection must close.</summary>
    public bool Broken { get; private set; }

    /// <summary>The client asked for 100-continue and was not sent it: it may never send the body.</summary>
    private bool AwaitingContinue => _expectContinue && !_continueSent;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public void Reset(HttpRequestHead head)
    {
        _framing = head.Framing;
        _remaining = head.Framing == BodyFraming.ContentLength ? head.ContentLength : 0;
        _finished = head.Framing == BodyFraming.None;
        _expectContinue = head.ExpectContinue && head.Framing != BodyFraming.None;
        _continueSent = false;
        Broken = false;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_finished || buffer.IsEmpty)
        {
            return 0;
        }

        if (Broken)
        {
            throw InferenceException.BadInput("The request body could not be read (see the earlier error).");
        }

        if (AwaitingContinue)
        {
            _continueSent = true;
            _connection.SendContinue();
        }

        try
        {
            return _framing == BodyFraming.Chunked ? ReadChunked(buffer) : ReadFixed(buffer);
        }
        catch (InferenceException)
        {
            Broken = true;
            throw;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            Broken = true;
            throw InferenceException.BadInput($"The request body could not be read: {ex.Message}");
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Reads and drops what is left of the body, up to <paramref name="limit"/> bytes; true when the body then ended cleanly.</summary>
    public bool TryDrain(long limit)
    {
        if (_finished)
        {
            return true;
        }

        if (Broken || AwaitingContinue || (_framing == BodyFraming.ContentLength && _remaining > limit))
        {
            return false;
        }

        Span<byte> scratch = stackalloc byte[4096];
        long dropped = 0;
        try
        {
            while (!_finished)
            {
                var read = Read(scratch);
                if (read == 0)
                {
                    return _finished;
                }

                dropped += read;
                if (dropped > limit)
                {
                    return false;
                }
            }

            return true;
        }
        catch (InferenceException)
        {
            return false;
        }
    }

    private int ReadFixed(Span<byte> buffer)
    {
        var want = (int)Math.Min(buffer.Length, _remaining);
        var read = _connection.ReadBody(buffer[..want]);
        if (read == 0)
        {
            throw InferenceException.BadInput($"The request body ended {_remaining} byte(s) before its Content-Length.");
        }

        _remaining -= read;
        _finished = _remaining == 0;
        return read;
    }

    private int ReadChunked(Span<byte> buffer)
    {
        if (_remaining == 0)
        {
            // Start of the next chunk: its size line. The chunk before it ended with CRLF, checked below.
            var line = _connection.ReadLine(MaxChunkLine, "chunk size");
            var semicolon = line.IndexOf((byte)';');
            var sizeText = (semicolon < 0 ? line : line[..semicolon]).TrimEnd(" \t"u8);
            if (sizeText.IsEmpty || sizeText.Length > 15 || !Utf8Parser.TryParse(sizeText, out long size, out var used, 'X') || used != sizeText.Length)
            {
                throw InferenceException.BadInput($"The chunk size '{HttpRequestHead.Printable(sizeText)}' is not a hexadecimal number.");
            }

            if (size == 0)
            {
                // Trailers (read and dropped), then the empty line.
                var trailers = 0;
                while (!_connection.ReadLine(MaxChunkLine, "trailer").IsEmpty)
                {
                    if (++trailers > HttpRequestHead.MaxHeaderCount)
                    {
                        throw InferenceException.BadInput($"The chunked request body has more than {HttpRequestHead.MaxHeaderCount} trailer lines.");
                    }
                }

                _finished = true;
                return 0;
            }

            _remaining = size;
        }

        var want = (int)Math.Min(buffer.Length, _remaining);
        var read = _connection.ReadBody(buffer[..want]);
        if (read == 0)
        {
            throw InferenceException.BadInput("The chunked request body ended inside a chunk.");
        }

        _remaining -= read;
        if (_remaining == 0 && !_connection.ReadLine(2, "chunk end").IsEmpty)
        {
            throw InferenceException.BadInput("A chunk of the request body is longer than its declared size (no CRLF after it).");
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
