namespace Serverless.Core.Protocol;

/// <summary>Content types and header names of the protocol and its binary tensor data extension.</summary>
public static class ProtocolContentTypes
{
    public const string Json = "application/json";

    /// <summary>Used for responses that carry binary tensor data after the JSON header.</summary>
    public const string OctetStream = "application/octet-stream";

    /// <summary>Length of the JSON header at the start of a body that carries binary tensor data.</summary>
    public const string InferenceHeaderContentLength = "Inference-Header-Content-Length";

    public const string RetryAfter = "Retry-After";
}
