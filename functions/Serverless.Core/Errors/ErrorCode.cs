namespace Serverless.Core.Errors;

/// <summary>
/// What kind of failure an <see cref="InferenceException"/> reports. Only the transport edge turns this
/// into a status code (see <see cref="ErrorCodeExtensions.ToHttpStatus"/>); the core never speaks HTTP.
/// </summary>
public enum ErrorCode
{
    /// <summary>The request is malformed or does not fit the model (400).</summary>
    InvalidInput,
    /// <summary>No such model, version or route (404).</summary>
    NotFound,
    /// <summary>The route exists but not for this method (405).</summary>
    MethodNotAllowed,
    /// <summary>The request or response exceeds a configured limit (413).</summary>
    PayloadTooLarge,
    /// <summary>The content type is not one we accept (415).</summary>
    UnsupportedMediaType,
    /// <summary>The model exists but is not loaded yet, or failed to load (503).</summary>
    NotReady,
    /// <summary>The server is overloaded; the caller should retry later (503 with Retry-After).</summary>
    Overloaded,
    /// <summary>The caller's deadline passed (504).</summary>
    Timeout,
    /// <summary>The model store could not be reached or refused access (502).</summary>
    StorageUnavailable,
    /// <summary>A downloaded artifact failed verification (size or SHA-256) (502).</summary>
    IntegrityFailure,
    /// <summary>Local disk is full or not writable (507).</summary>
    InsufficientStorage,
    /// <summary>ONNX Runtime rejected the call at run time (500 unless the input was at fault).</summary>
    RuntimeFailure,
    /// <summary>A bug on our side (500).</summary>
    Internal,
}

public static class ErrorCodeExtensions
{
    /// <summary>The HTTP status the protocol edge answers with for this code.</summary>
    public static int ToHttpStatus(this ErrorCode code) => code switch
    {
        ErrorCode.InvalidInput => 400,
        ErrorCode.NotFound => 404,
        ErrorCode.MethodNotAllowed => 405,
        ErrorCode.PayloadTooLarge => 413,
        ErrorCode.UnsupportedMediaType => 415,
        ErrorCode.NotReady => 503,
        ErrorCode.Overloaded => 503,
        ErrorCode.Timeout => 504,
        ErrorCode.StorageUnavailable => 502,
        ErrorCode.IntegrityFailure => 502,
        ErrorCode.InsufficientStorage => 507,
        ErrorCode.RuntimeFailure => 500,
        _ => 500,
    };

    /// <summary>True when the failure is the caller's fault (a 4xx).</summary>
    public static bool IsClientError(this ErrorCode code) => code.ToHttpStatus() is >= 400 and < 500;
}
