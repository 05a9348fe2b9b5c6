namespace Serverless.Core.Storage;

/// <summary>
/// A read-only, forward-only view of an inner stream that counts what it has read and stops after
/// <c>length</c> bytes. Object stores return it for every download: the local store to cut a ranged read
/// out of a file, the HTTP stores to tie the response's lifetime to its body, so that disposing the
/// stream disposes the <c>owner</c> (the response) and returns the connection to the pool.
/// </summary>
public sealed class BoundedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly long? _length;
    private readonly IDisposable? _owner;
    private long _position;

    /// <param name="inner">The stream to read from, positioned at the first byte of the view; disposed with this one.</param>
    /// <param name="length">
    /// At most this many bytes are read, and <see cref="Length"/> reports it. Null when it is not known
    /// in advance (an HTTP body without Content-Length): reads then run to the end of <paramref name="inner"/>.
    /// </param>
    /// <param name="owner">Disposed after <paramref name="inner"/>, e.g. the HTTP response the body belongs to.</param>
    public BoundedReadStream(Stream inner, long? length, IDisposable? owner = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (length is { } n)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n, nameof(length));
        }

        _inner = inner;
        _length = length;
        _owner = owner;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _length ?? throw new NotSupportedException("The length of this stream is not known in advance (the source sent no length); read it to the end instead.");

    /// <summary>Bytes read so far.</summary>
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var allowed = Allowed(buffer.Length);
        if (allowed == 0 && buffer.Length > 0)
        {
            return 0;
        }

        var read = _inner.Read(buffer[..allowed]);
        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var allowed = Allowed(buffer.Length);
        if (allowed == 0 && buffer.Length > 0)
        {
            return 0;
        }

        var read = await _inner.ReadAsync(buffer[..allowed], cancellationToken).ConfigureAwait(false);
        _position += read;
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _owner?.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        _owner?.Dispose();
        GC.SuppressFinalize(this);
    }

    private int Allowed(int requested) => _length is { } n ? (int)Math.Min(requested, n - _position) : requested;
}
