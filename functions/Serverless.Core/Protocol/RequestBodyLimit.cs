using Serverless.Core.Errors;

namespace Serverless.Core.Protocol;

/// <summary>
/// The one wording of a request body over the limit (413). The core's own check uses it, and so do transports
/// that enforce the same limit themselves while the body streams (Kestrel's <c>MaxRequestBodySize</c>), so a
/// client reads the same error whichever of the two stops the body first.
/// </summary>
public static class RequestBodyLimit
{
    /// <summary>The 413 for a body over <paramref name="limit"/> bytes: declared as <paramref name="declared"/> bytes, or found while reading when null.</summary>
    public static InferenceException TooLarge(long? declared, long limit) => InferenceException.TooLarge(
        declared is { } d
            ? $"The request body is {d} bytes, over the limit of {limit} bytes. Send a smaller batch, or use binary tensor data (Inference-Header-Content-Length), which is about 3x smaller than JSON."
            : $"The request body passed the limit of {limit} bytes. Send a smaller batch, or use binary tensor data (Inference-Header-Content-Length), which is about 3x smaller than JSON.");
}
