using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Serverless.Hosting.AspNetCore;

/// <summary>
/// Kestrel's limits for an inference edge that one machine's clients call: small enough that idle or slow
/// connections cannot hold the server, large enough for any protocol request. Kestrel serves every
/// connection without a thread of its own, so what holds memory or sockets is time, and the timeouts
/// here are what bound it.
/// </summary>
public sealed record KestrelEdgeLimits
{
    /// <summary>
    /// The largest request body; Kestrel stops a body that streams past it, declared or chunked, with a 413.
    /// Set it to the protocol handler's own limit, so that either check refuses the same bodies. Null: no limit.
    /// </summary>
    public long? MaxRequestBodyBytes { get; init; }

    /// <summary>The request line and headers together (Kestrel answers 431 past it). Protocol requests send a handful of short headers.</summary>
    public int MaxRequestHeadersTotalBytes { get; init; } = 32 * 1024;

    /// <summary>How many header fields one request may send (Kestrel answers 431 past it).</summary>
    public int MaxRequestHeaderCount { get; init; } = 100;

    /// <summary>The longest request line (Kestrel answers 414 past it); protocol paths are short.</summary>
    public int MaxRequestLineBytes { get; init; } = 8 * 1024;

    /// <summary>
    /// How long a connection may sit without a request: after a response, and on a new connection before its
    /// first byte. Short, as Node.js's http server's default, so that sockets opened and left idle are closed
    /// within seconds instead of piling up.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a request head may take to arrive once it starts (Kestrel answers 408 and closes): a slow-head client is cut off.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Open connections at once; null for no cap. Without one, idle and slow connections are bounded by the two
    /// timeouts above and the process's file limit. A cap would turn a flood of idle sockets into refused
    /// connections for every other client until they time out.
    /// </summary>
    public long? MaxConcurrentConnections { get; init; }

    /// <summary>Copies these limits onto <paramref name="options"/>.</summary>
    public void ApplyTo(KestrelServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var limits = options.Limits;
        limits.MaxRequestBodySize = MaxRequestBodyBytes;
        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalBytes;
        limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        limits.MaxRequestLineSize = MaxRequestLineBytes;
        limits.KeepAliveTimeout = KeepAliveTimeout;
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        limits.MaxConcurrentConnections = MaxConcurrentConnections;
    }
}
