using System.Runtime.CompilerServices;
using Serverless.Core.Storage;

namespace Serverless.Core.Tests.Storage;

/// <summary>
/// Wraps a store, counts reads (GETs), and can rewrite what a read returns: a stand-in for a remote store
/// in unit tests (it is not a LocalObjectStore, so the cache downloads from it) and a GET counter in
/// integration tests.
/// </summary>
internal sealed class CountingObjectStore(IObjectStore inner) : IObjectStore
{
    private int _reads;

    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Rewrites the stream a read returns (corrupt, truncate, fail mid-way).</summary>
    public Func<Stream, Stream>? Transform { get; set; }

    public string Root => inner.Root;

    public Task<ObjectProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken) => inner.GetPropertiesAsync(key, cancellationToken);

    public async Task<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        var stream = await inner.OpenReadAsync(key, offset, length, cancellationToken);
        return Transform is { } transform ? transform(stream) : stream;
    }

    public Task PutAsync(string key, Stream content, string? contentType = null, CancellationToken cancellationToken = default) =>
        inner.PutAsync(key, content, contentType, cancellationToken);

    public async IAsyncEnumerable<ObjectProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in inner.ListAsync(prefix, cancellationToken))
        {
            yield return item;
        }
    }
}

/// <summary>Returns the first <c>limit</c> bytes of a stream, then either ends (truncation) or throws (a dropped connection).</summary>
internal sealed class CutShortStream(Stream inner, long limit, bool throwAtCut) : MemoryStream
{
    private long _read;

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, default).GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_read >= limit)
        {
            return throwAtCut ? throw new IOException("The response ended prematurely (connection reset).") : 0;
        }

        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, limit - _read)], cancellationToken);
        _read += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Flips one byte of everything read through it (a corrupt object of the right size).</summary>
internal sealed class FlipByteStream(Stream inner, long position) : MemoryStream
{
    private long _read;

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        if (position >= _read && position < _read + n)
        {
            buffer.Span[(int)(position - _read)] ^= 0xFF;
        }

        _read += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        inner.Dispose();
        base.Dispose(disposing);
    }
}
