using Microsoft.AspNetCore.Http;
using Serverless.Core.Errors;
using Serverless.Core.Protocol;

namespace Serverless.Hosting.AspNetCore;

/// <summary>
/// Kestrel's request body as the protocol handler reads it. Kestrel refuses a body while it streams (over
/// <c>MaxRequestBodySize</c>, malformed chunked framing, too slow) by throwing its
/// <see cref="BadHttpRequestException"/> (or, for some framing errors, a plain <see cref="IOException"/>) from a
/// read; this stream turns that into the core's
/// <see cref="InferenceException"/>, so the client gets the protocol's <c>{"error": ...}</c> with a 4xx
/// instead of the handler's 500 for an unexpected exception.
/// </summary>
internal sealed class KestrelRequestBody : Stream
{
    private readonly Stream _inner;
    private readonly long? _limit;

    public KestrelRequestBody(Stream inner, long? limit)
    {
        _inner = inner;
        _limit = limit;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ValueTask<int> read;
        try
        {
            read = _inner.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException ex)
        {
            throw Refusal(ex);
        }

        return read.IsCompletedSuccessfully ? read : AwaitAsync(read);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return _inner.Read(buffer);
        }
        catch (IOException ex)
        {
            throw Refusal(ex);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private async ValueTask<int> AwaitAsync(ValueTask<int> read)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw Refusal(ex);
        }
    }

    /// <summary>
    /// The client's 4xx for a body Kestrel could not deliver: its <see cref="BadHttpRequestException"/> carries the
    /// status; other I/O failures while reading (a chunk size that overflows, a connection reset) are the client's too.
    /// </summary>
    private InferenceException Refusal(IOException ex) => (ex as BadHttpRequestException)?.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => RequestBodyLimit.TooLarge(null, _limit ?? 0),
        StatusCodes.Status408RequestTimeout => new InferenceException(ErrorCode.InvalidInput,
            $"The request body arrived too slowly and was cut off ({ex.Message}). Send the body as fast as the request is built, or with a Content-Length.", ex),
        _ => new InferenceException(ErrorCode.InvalidInput,
            $"The request body is malformed or could not be read ({ex.Message}). Send it with a Content-Length, or as well-formed chunked transfer encoding.", ex),
    };
}
