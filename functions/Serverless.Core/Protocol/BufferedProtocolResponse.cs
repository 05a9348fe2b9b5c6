using System.Buffers;

namespace Serverless.Core.Protocol;

/// <summary>
/// The standard <see cref="IProtocolResponse"/>: the body goes into a pooled buffer that the adapter owns,
/// so the adapter knows the full length before it sends anything (Lambda must check its 6 MB cap, Kestrel
/// sets Content-Length). Reuse an instance across requests with <see cref="Clear"/>; dispose it to return
/// the buffer. Not thread-safe: one request at a time.
/// </summary>
public sealed class BufferedProtocolResponse : IProtocolResponse, IDisposable
{
    private readonly PooledBufferWriter _body = new();
    private readonly List<KeyValuePair<string, string>> _headers = new(2);

    public int StatusCode { get; set; } = 200;

    public string ContentType { get; set; } = ProtocolContentTypes.Json;

    /// <summary>Headers besides Content-Type and Content-Length, in the order they were set.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers => _headers;

    public IBufferWriter<byte> Body => _body;

    public long BodyLength => _body.WrittenCount;

    /// <summary>The body written; valid until the instance is cleared or disposed.</summary>
    public ReadOnlyMemory<byte> BodyMemory => _body.WrittenMemory;

    public void SetHeader(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        for (var i = 0; i < _headers.Count; i++)
        {
            if (string.Equals(_headers[i].Key, name, StringComparison.OrdinalIgnoreCase))
            {
                _headers[i] = new(name, value);
                return;
            }
        }

        _headers.Add(new(name, value));
    }

    /// <summary>The value of a header set by the handler, or null.</summary>
    public string? GetHeader(string name)
    {
        foreach (var header in _headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return header.Value;
            }
        }

        return null;
    }

    public void Clear()
    {
        StatusCode = 200;
        ContentType = ProtocolContentTypes.Json;
        _headers.Clear();
        _body.Clear();
    }

    /// <summary>Copies the body to <paramref name="destination"/> (an adapter's response stream).</summary>
    public ValueTask CopyToAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return destination.WriteAsync(_body.WrittenMemory, cancellationToken);
    }

    public void Dispose() => _body.Dispose();
}
