namespace Serverless.Core.Protocol;

/// <summary>
/// Limits and identity of a <see cref="ProtocolHandler"/>. The defaults suit a function with a few GB of
/// memory; adapters with a hard response cap (Lambda's 6 MB) set <see cref="MaxResponseBytes"/> to it.
/// </summary>
public sealed record ProtocolOptions
{
    /// <summary>Largest request body read; a larger body is refused with 413 as soon as the limit is passed.</summary>
    public long MaxRequestBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest element count of one input tensor (checked from its shape before any buffer is sized).</summary>
    public long MaxTensorElements { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest response body; a larger response becomes a 413 that suggests binary outputs or a smaller batch.</summary>
    public long MaxResponseBytes { get; init; } = int.MaxValue;

    /// <summary>Server name reported by <c>GET /v2</c>.</summary>
    public string ServerName { get; init; } = "serverless";

    /// <summary>Server version reported by <c>GET /v2</c>.</summary>
    public string ServerVersion { get; init; } = "1.0.0";

    /// <summary>
    /// The one model a per-model function serves. When set, every request naming another model is a 404 that
    /// names this model, the repository index lists only it, and server readiness is this model's.
    /// </summary>
    public string? ServedModel { get; init; }

    /// <summary>Called with every exception that became a 500, so the host can log it; the client only sees a generic message.</summary>
    public Action<Exception>? OnUnexpectedError { get; init; }
}
