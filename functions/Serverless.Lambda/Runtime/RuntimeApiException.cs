namespace Serverless.Lambda.Runtime;

/// <summary>
/// The Runtime API refused a call. A 5xx (or an unreachable endpoint) means the execution environment is
/// broken: the loop stops and the process exits so Lambda can replace it. A 4xx for one response (for
/// example 413 for a response over the payload limit) concerns that invocation only.
/// </summary>
public sealed class RuntimeApiException : Exception
{
    public RuntimeApiException(string message, int statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
    }

    public RuntimeApiException() : this("The Lambda Runtime API call failed.", 0)
    {
    }

    public RuntimeApiException(string message) : this(message, 0)
    {
    }

    public RuntimeApiException(string message, Exception innerException) : this(message, 0, innerException)
    {
    }

    /// <summary>HTTP status the Runtime API answered with; 0 when it could not be reached at all.</summary>
    public int StatusCode { get; }

    /// <summary>True when the process must exit: a 5xx or no answer at all.</summary>
    public bool IsFatal => StatusCode is 0 or >= 500;
}
