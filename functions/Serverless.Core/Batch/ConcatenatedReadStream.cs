using Serverless.Core.Storage;

namespace Serverless.Core.Batch;

/// <summary>
/// The result parts read back one after another as one forward-only stream of known length, so the final
/// result object is written by streaming (memory stays at one read buffer whatever the output size).
/// <see cref="Length"/> is known up front because object stores want it for a single PUT.
/// </summary>
internal sealed class ConcatenatedReadStream : Stream
{
    private readonly IObjectStore _store;
    private readonly IReadOnlyList<BatchPart> _parts;
    private readonly long _length;
    private Stream? _current;
    private int _next;
    private long _position;

    public ConcatenatedReadStream(IObjectStore store, IReadOnlyList<BatchPart> parts, long length)
    {
        _store = store;
        _parts = parts;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_current is null)
            {
                if (_next >= _parts.Count)
                {
                    return 0;
                }

                _current = await _store.OpenReadAsync(_parts[_next++].Key, 0, null, cancellationToken).ConfigureAwait(false);
            }

            var read = await _current.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read > 0)
            {
                _position += read;
                return read;
            }

            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (_current is not null)
        {
            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
        }

        base.Dispose(disposing);
    }
}
