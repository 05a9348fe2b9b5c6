namespace Serverless.Lambda.Runtime;

/// <summary>
/// One event handed out by <c>GET /runtime/invocation/next</c>: the payload and every header Lambda sends
/// with it. <see cref="Payload"/> is owned by the invocation and valid until the next one is fetched.
/// </summary>
public sealed record LambdaInvocation
{
    /// <summary><c>Lambda-Runtime-Aws-Request-Id</c>; the id the response or error is posted under.</summary>
    public required string RequestId { get; init; }

    /// <summary><c>Lambda-Runtime-Deadline-Ms</c> as an instant: when Lambda stops the invocation.</summary>
    public required DateTimeOffset Deadline { get; init; }

    /// <summary><c>Lambda-Runtime-Invoked-Function-Arn</c> (function, version or alias that was invoked).</summary>
    public string? InvokedFunctionArn { get; init; }

    /// <summary><c>Lambda-Runtime-Trace-Id</c>, the X-Ray trace header; exported as <c>_X_AMZN_TRACE_ID</c>.</summary>
    public string? TraceId { get; init; }

    /// <summary><c>Lambda-Runtime-Client-Context</c> (mobile SDK invocations only).</summary>
    public string? ClientContext { get; init; }

    /// <summary><c>Lambda-Runtime-Cognito-Identity</c> (mobile SDK invocations only).</summary>
    public string? CognitoIdentity { get; init; }

    /// <summary>The event JSON exactly as Lambda sent it.</summary>
    public required ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Time left before <see cref="Deadline"/> according to <paramref name="now"/>.</summary>
    public TimeSpan RemainingTime(DateTimeOffset now) => Deadline - now;
}
