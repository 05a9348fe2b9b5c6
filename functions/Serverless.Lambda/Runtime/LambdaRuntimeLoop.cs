using System.Buffers;

namespace Serverless.Lambda.Runtime;

/// <summary>
/// The custom runtime's invoke loop, modelled on Amazon.Lambda.RuntimeSupport: initialize once (a failure
/// goes to <c>/init/error</c> and the process exits non-zero), then fetch an event, run the handler under a
/// token that fires at the invocation's deadline, and post the response or the error. A handler exception
/// never ends the loop; a fatal Runtime API answer (5xx, unreachable) does, promptly.
/// </summary>
public sealed class LambdaRuntimeLoop
{
    /// <summary>Lambda's limit for a synchronous response payload (6 MB).</summary>
    public const int MaxResponseBytes = 6 * 1024 * 1024;

    /// <summary>Process exit code after an init failure.</summary>
    public const int ExitInitFailed = 1;

    /// <summary>Process exit code after the Runtime API failed.</summary>
    public const int ExitRuntimeApiFailed = 2;

    private const int RetainedBufferBytes = 1024 * 1024;

    private readonly IRuntimeApiClient _client;
    private readonly TextWriter _diagnostics;
    private readonly Action<string, string?> _setEnvironmentVariable;

    public LambdaRuntimeLoop(IRuntimeApiClient client, TextWriter diagnostics, Action<string, string?>? setEnvironmentVariable = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _diagnostics = diagnostics ?? throw new ArgumentNullException(nameof(diagnostics));
        _setEnvironmentVariable = setEnvironmentVariable ?? Environment.SetEnvironmentVariable;
    }

    /// <summary>Number of invocations handled so far (answered with a response or an error).</summary>
    public int InvocationCount { get; private set; }

    /// <summary>
    /// Runs until <paramref name="stop"/> fires (returns 0), initialization fails (<see cref="ExitInitFailed"/>)
    /// or the Runtime API fails (<see cref="ExitRuntimeApiFailed"/>). <paramref name="maxInvocations"/> bounds
    /// the loop for tests; null means forever.
    /// </summary>
    public async Task<int> RunAsync(Func<CancellationToken, Task<ILambdaHandler>> initialize, CancellationToken stop, int? maxInvocations = null)
    {
        ArgumentNullException.ThrowIfNull(initialize);
        ILambdaHandler handler;
        try
        {
            handler = await initialize(stop).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any init failure must reach /init/error rather than crash silently.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await _diagnostics.WriteLineAsync($"init failed: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
            try
            {
                await _client.SendInitErrorAsync(LambdaError.FromException(ex, "Runtime.InitError"), stop).ConfigureAwait(false);
            }
            catch (RuntimeApiException apiError)
            {
                await _diagnostics.WriteLineAsync(apiError.Message).ConfigureAwait(false);
            }

            return ExitInitFailed;
        }

        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        try
        {
            while (!stop.IsCancellationRequested && (maxInvocations is null || InvocationCount < maxInvocations))
            {
                LambdaInvocation invocation;
                try
                {
                    invocation = await _client.GetNextInvocationAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return 0;
                }

                if (buffer.Capacity > RetainedBufferBytes)
                {
                    buffer = new ArrayBufferWriter<byte>(64 * 1024); // don't keep a one-off 6 MB response resident
                }
                else
                {
                    buffer.ResetWrittenCount();
                }

                await InvokeAsync(handler, invocation, buffer, stop).ConfigureAwait(false);
                InvocationCount++;
            }
        }
        catch (RuntimeApiException ex) when (ex.IsFatal)
        {
            await _diagnostics.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return ExitRuntimeApiFailed;
        }

        return 0;
    }

    private async Task InvokeAsync(ILambdaHandler handler, LambdaInvocation invocation, ArrayBufferWriter<byte> buffer, CancellationToken stop)
    {
        // The X-Ray SDKs and OpenTelemetry read the trace header from this variable, per invocation.
        _setEnvironmentVariable("_X_AMZN_TRACE_ID", invocation.TraceId);
        LambdaError? error = null;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            var remaining = invocation.RemainingTime(DateTimeOffset.UtcNow);
            deadline.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            try
            {
                await handler.HandleAsync(invocation, buffer, deadline.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A handler failure is reported to Lambda and must never end the loop.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                error = LambdaError.FromException(ex, "Function");
            }
        }

        if (error is null && buffer.WrittenCount > MaxResponseBytes)
        {
            error = new LambdaError
            {
                ErrorMessage = $"The response is {buffer.WrittenCount} bytes, over Lambda's {MaxResponseBytes}-byte limit for a synchronous response. Request fewer outputs or a smaller batch, or use batch scoring (upload JSON Lines to the bucket's incoming/ prefix).",
                ErrorType = "ResponseTooLarge",
                Category = "Function.ResponseTooLarge",
            };
        }

        if (error is null)
        {
            try
            {
                await _client.SendResponseAsync(invocation.RequestId, buffer.WrittenMemory, stop).ConfigureAwait(false);
                return;
            }
            catch (RuntimeApiException ex) when (!ex.IsFatal)
            {
                error = LambdaError.FromException(ex, "Runtime") with
                {
                    ErrorMessage = $"The Runtime API refused the {buffer.WrittenCount}-byte response with status {ex.StatusCode}: {ex.Message}",
                };
            }
        }

        await _diagnostics.WriteLineAsync($"invocation {invocation.RequestId} failed: {error.ErrorType}: {error.ErrorMessage}").ConfigureAwait(false);
        try
        {
            await _client.SendInvocationErrorAsync(invocation.RequestId, error, stop).ConfigureAwait(false);
        }
        catch (RuntimeApiException ex) when (!ex.IsFatal)
        {
            await _diagnostics.WriteLineAsync(ex.Message).ConfigureAwait(false);
        }
    }
}
