using System.Buffers;
using Serverless.Core.Errors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Reads a request body into one pooled array, refusing it with 413 the moment it passes the limit: a
/// declared Content-Length over the limit is refused before reading, and an undeclared (chunked) body is
/// never read more than one byte past the limit. Dispose returns the array.
/// </summary>
internal sealed class RequestBodyReader : IDisposable
{
    private byte[] _buffer = [];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>Refuses (413) a declared Content-Length over the limit, before anything is read or started for the request.</summary>
    public static void ThrowIfDeclaredTooLarge(long? contentLength, long limit)
    {
        var max = Max(limit);
        if (contentLength > max)
        {
            throw TooLarge(contentLength.Value, max);
        }
    }

    public static async Task<RequestBodyReader> ReadAsync(Stream body, long? contentLength, long limit, CancellationToken cancellationToken)
    {
        ThrowIfDeclaredTooLarge(contentLength, limit);
        var max = Max(limit);

        var result = new RequestBodyReader();
        try
        {
            var initial = (int)Math.Min(contentLength is > 0 ? contentLength.Value + 1 : 16 * 1024, max + 1);
            result._buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 1));
            while (true)
            {
                if (result.Length == result._buffer.Length)
                {
                    result.Grow(max + 1);
                }

                // Never ask for more than one byte past the limit, so an endless body is cut off there.
                var room = (int)Math.Min(result._buffer.Length - result.Length, max + 1 - result.Length);
                var read = await body.ReadAsync(result._buffer.AsMemory(result.Length, room), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return result;
                }

                result.Length += read;
                if (result.Length > max)
                {
                    throw TooLarge(null, max);
                }
            }
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        Length = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Grow(long cap)
    {
        var size = (int)Math.Min(Math.Max(_buffer.Length * 2L, 1024), cap);
        var grown = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, Length).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
    }

    private static long Max(long limit) => Math.Min(limit, Array.MaxLength - 1L);

    private static InferenceException TooLarge(long? declared, long max) => RequestBodyLimit.TooLarge(declared, max);
}
