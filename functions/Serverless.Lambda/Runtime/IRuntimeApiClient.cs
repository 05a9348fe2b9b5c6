namespace Serverless.Lambda.Runtime;

/// <summary>
/// The Lambda Runtime API (2018-06-01) as the invoke loop sees it. The loop never touches HTTP; tests drive
/// it through a hand-written fake, and the real <see cref="RuntimeApiClient"/> talks to
/// <c>AWS_LAMBDA_RUNTIME_API</c>. Every method throws <see cref="RuntimeApiException"/> when the Runtime API
/// answers with an error status; <see cref="RuntimeApiException.IsFatal"/> tells the loop to exit.
/// </summary>
public interface IRuntimeApiClient
{
    /// <summary>Waits, without a timeout, for the next event (the process may be frozen while waiting).</summary>
    Task<LambdaInvocation> GetNextInvocationAsync(CancellationToken cancellationToken);

    /// <summary>Posts the handler's result for <paramref name="requestId"/>.</summary>
    Task SendResponseAsync(string requestId, ReadOnlyMemory<byte> response, CancellationToken cancellationToken);

    /// <summary>Reports that the handler failed for <paramref name="requestId"/>.</summary>
    Task SendInvocationErrorAsync(string requestId, LambdaError error, CancellationToken cancellationToken);

    /// <summary>Reports that initialization failed; Lambda then discards this execution environment.</summary>
    Task SendInitErrorAsync(LambdaError error, CancellationToken cancellationToken);
}
