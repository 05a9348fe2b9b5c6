using System.Text.Json.Serialization;

namespace Serverless.Lambda.Runtime;

/// <summary>
/// The error document the Runtime API accepts on <c>/invocation/{id}/error</c> and <c>/init/error</c>:
/// <c>{"errorMessage","errorType","stackTrace"}</c>. <see cref="Category"/> goes into the
/// <c>Lambda-Runtime-Function-Error-Type</c> header in AWS's recommended <c>Category.Reason</c> form.
/// </summary>
public sealed record LambdaError
{
    [JsonPropertyName("errorMessage")]
    public required string ErrorMessage { get; init; }

    [JsonPropertyName("errorType")]
    public required string ErrorType { get; init; }

    [JsonPropertyName("stackTrace")]
    public IReadOnlyList<string> StackTrace { get; init; } = [];

    /// <summary>Value of <c>Lambda-Runtime-Function-Error-Type</c>, e.g. "Function.InvalidOperationException".</summary>
    [JsonIgnore]
    public string Category { get; init; } = "Runtime.UnknownReason";

    /// <summary>Builds the document from an exception; <paramref name="category"/> prefixes the header value.</summary>
    public static LambdaError FromException(Exception exception, string category)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var type = exception.GetType().Name;
        var lines = exception.StackTrace?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        return new LambdaError
        {
            ErrorMessage = exception.Message,
            ErrorType = type,
            StackTrace = lines,
            Category = category + "." + type,
        };
    }
}
