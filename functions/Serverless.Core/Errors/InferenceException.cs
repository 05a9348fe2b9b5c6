namespace Serverless.Core.Errors;

/// <summary>
/// The one exception type of the product. Its message is written for a person: it names the model and
/// tensor involved, the expected and actual values, and how to fix the problem. It becomes
/// <c>{"error": "..."}</c> with <see cref="ErrorCodeExtensions.ToHttpStatus"/> only at the transport edge.
/// </summary>
public sealed class InferenceException : Exception
{
    public InferenceException(ErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    public InferenceException() : this(ErrorCode.Internal, "Internal error.")
    {
    }

    public InferenceException(string message) : this(ErrorCode.Internal, message)
    {
    }

    public InferenceException(string message, Exception innerException) : this(ErrorCode.Internal, message, innerException)
    {
    }

    public ErrorCode Code { get; }

    /// <summary>ONNX Runtime's own error code (OrtErrorCode) when the failure came from ORT, else null.</summary>
    public int? OrtErrorCode { get; init; }

    /// <summary>The model the failure concerns, when known.</summary>
    public string? Model { get; init; }

    /// <summary>The tensor the failure concerns, when known.</summary>
    public string? Tensor { get; init; }

    /// <summary>Seconds the caller should wait before retrying (for <see cref="ErrorCode.Overloaded"/> and <see cref="ErrorCode.NotReady"/>).</summary>
    public int? RetryAfterSeconds { get; init; }

    public int HttpStatus => Code.ToHttpStatus();

    public static InferenceException BadInput(string message, string? model = null, string? tensor = null) =>
        new(ErrorCode.InvalidInput, message) { Model = model, Tensor = tensor };

    public static InferenceException NotFound(string message, string? model = null) =>
        new(ErrorCode.NotFound, message) { Model = model };

    public static InferenceException TooLarge(string message, string? model = null, string? tensor = null) =>
        new(ErrorCode.PayloadTooLarge, message) { Model = model, Tensor = tensor };
}
