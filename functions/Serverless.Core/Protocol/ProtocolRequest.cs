namespace Serverless.Core.Protocol;

/// <summary>
/// One HTTP request as the transport adapter hands it to <see cref="ProtocolHandler"/>: the method, the
/// path with any stage or route prefix already removed (e.g. <c>/v2/models/x/infer</c>), the few headers
/// the protocol needs, and the body as a stream that the handler reads itself so that it can stop at the
/// size limit. Adapters that already hold the whole body use <see cref="FromBytes"/>.
/// </summary>
public sealed class ProtocolRequest
{
    public ProtocolRequest(string method, string path, Stream? body = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        Method = method;
        Path = path;
        Body = body ?? Stream.Null;
    }

    /// <summary>HTTP method, e.g. "GET" or "POST" (compared case-insensitively).</summary>
    public string Method { get; }

    /// <summary>Request path without query string and without any stage prefix.</summary>
    public string Path { get; }

    /// <summary>The query string without '?', when any (unused by the protocol today, kept for adapters' logs).</summary>
    public string? Query { get; init; }

    /// <summary>The Content-Type header, when sent.</summary>
    public string? ContentType { get; init; }

    /// <summary>The Content-Length header, when sent; a value over the limit is refused before reading.</summary>
    public long? ContentLength { get; init; }

    /// <summary>
    /// The binary tensor data extension's <c>Inference-Header-Content-Length</c> header: the length of the
    /// JSON header at the start of the body, the rest being binary tensor data. 0 means a raw binary body.
    /// The raw header text is kept so that a malformed value can be reported as such.
    /// </summary>
    public string? InferenceHeaderContentLength { get; init; }

    /// <summary>The body. The handler reads it to the end (or to the limit) and does not dispose it.</summary>
    public Stream Body { get; }

    /// <summary>Builds a request over a body already in memory (Lambda events, tests); no copy is made.</summary>
    public static ProtocolRequest FromBytes(string method, string path, ReadOnlyMemory<byte> body, string? contentType = null, string? inferenceHeaderContentLength = null)
    {
        Stream stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);
        return new ProtocolRequest(method, path, stream)
        {
            ContentType = contentType,
            ContentLength = body.Length,
            InferenceHeaderContentLength = inferenceHeaderContentLength,
        };
    }
}
