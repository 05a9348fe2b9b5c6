using System.Buffers;

namespace Serverless.Core.Batch;

/// <summary>
/// Reads '\n'-separated lines from a stream with bounded memory: one pooled buffer that grows to the
/// longest line up to a limit; a longer line is skipped to its end and reported as
/// <see cref="CurrentTooLong"/>. It tracks each line's end as an absolute byte offset in the object,
/// which is what a checkpoint stores to resume with a ranged read. A final line without '\n' counts;
/// the empty string after a trailing '\n' does not. A '\r' before '\n' is dropped.
/// </summary>
internal sealed class JsonLinesReader : IDisposable
{
    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;
    private long _bufferOffset; // absolute offset of _buffer[0]

    public JsonLinesReader(Stream stream, long startOffset, int maxLineBytes, int initialBufferBytes = 64 * 1024)
    {
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _bufferOffset = startOffset;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(initialBufferBytes, maxLineBytes + 2));
    }

    /// <summary>The line just read (without its terminator); valid until the next read.</summary>
    public ReadOnlyMemory<byte> Current { get; private set; }

    /// <summary>True when the line just read exceeded the limit; <see cref="Current"/> is then empty.</summary>
    public bool CurrentTooLong { get; private set; }

    /// <summary>Absolute offset just after the line just read (after its '\n').</summary>
    public long EndOffset { get; private set; }

    /// <summary>Reads the next line; false at the end of the stream.</summary>
    public async ValueTask<bool> ReadLineAsync(CancellationToken cancellationToken)
    {
        CurrentTooLong = false;
        var scanFrom = _start;
        var skipping = false;
        while (true)
        {
            var newline = _buffer.AsSpan(scanFrom, _end - scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var lineEnd = scanFrom + newline;
                var consumedTo = lineEnd + 1;
                SetCurrent(skipping, lineEnd);
                EndOffset = _bufferOffset + consumedTo;
                _start = consumedTo;
                return true;
            }

            scanFrom = _end;
            if (!skipping && _end - _start > _maxLineBytes)
            {
                skipping = true; // too long: stop keeping it, keep looking for its end
            }

            if (skipping)
            {
                _bufferOffset += _end;
                _start = 0;
                _end = 0;
                scanFrom = 0;
            }

            if (_eof)
            {
                if (_end == _start && !skipping)
                {
                    return false;
                }

                SetCurrent(skipping, _end);
                EndOffset = _bufferOffset + _end;
                _start = _end;
                return true;
            }

            scanFrom = await FillAsync(scanFrom, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void SetCurrent(bool skipping, int lineEnd)
    {
        if (skipping)
        {
            CurrentTooLong = true;
            Current = ReadOnlyMemory<byte>.Empty;
            return;
        }

        var length = lineEnd - _start;
        if (length > 0 && _buffer[lineEnd - 1] == (byte)'\r')
        {
            length--;
        }

        Current = _buffer.AsMemory(_start, length);
    }

    /// <summary>Reads more bytes, compacting or growing the buffer; returns where scanning continues.</summary>
    private async ValueTask<int> FillAsync(int scanFrom, CancellationToken cancellationToken)
    {
        if (_start > 0 && _end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            scanFrom -= _start;
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, _maxLineBytes + 2));
            if (grown.Length <= _buffer.Length)
            {
                grown = ArrayPool<byte>.Shared.Rent(_buffer.Length + 64 * 1024);
            }

            Buffer.BlockCopy(_buffer, 0, grown, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
        return scanFrom;
    }
}
