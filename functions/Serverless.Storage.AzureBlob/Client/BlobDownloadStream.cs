namespace Serverless.Storage.AzureBlob;

/// <summary>
/// The body of a Get Blob response, read straight from the connection. It owns the response, so disposing
/// the stream returns the connection to the pool; until then the connection stays busy.
/// </summary>
internal sealed class BlobDownloadStream : Stream
{
    private readonly HttpResponseMessage _response;
    private readonly Stream _body;
    private readonly long? _length;
    private long _position;

    public BlobDownloadStream(HttpResponseMessage response, Stream body, long? length)
    {
        _response = response;
        _body = body;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    /// <summary>The length of the requested range (Content-Length), known before reading.</summary>
    public override long Length => _length ?? throw new NotSupportedException("The service sent no Content-Length.");

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = _body.Read(buffer);
        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
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
            _body.Dispose();
            _response.Dispose();
        }

        base.Dispose(disposing);
    }
}
