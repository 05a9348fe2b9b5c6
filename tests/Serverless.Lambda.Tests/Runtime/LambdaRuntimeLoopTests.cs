using System.Buffers;
using System.Text;
using Serverless.Lambda.Runtime;

namespace Serverless.Lambda.Tests.Runtime;

public sealed class LambdaRuntimeLoopTests
{
    private readonly FakeRuntimeApiClient _client = new();
    private readonly StringWriter _diagnostics = new();
    private readonly Dictionary<string, string?> _environment = [];

    private LambdaRuntimeLoop Loop() => new(_client, _diagnostics, (k, v) => _environment[k] = v);

    private static Task<ILambdaHandler> Handler(Func<LambdaInvocation, IBufferWriter<byte>, CancellationToken, Task> handle) =>
        Task.FromResult<ILambdaHandler>(new DelegateHandler(handle));

    [Fact]
    public async Task Run_HandlerCrash_IsReportedAsAnInvocationErrorAndTheNextInvocationStillSucceeds()
    {
        _client.Enqueue("crash");
        _client.Enqueue("ok");
        _client.EnqueueFailure(500);

        var exit = await Loop().RunAsync(_ => Handler((inv, output, _) =>
        {
            if (Encoding.UTF8.GetString(inv.Payload.Span) == "crash")
            {
                throw new InvalidOperationException("the handler fell over");
            }

            output.Write("{\"fine\":true}"u8);
            return Task.CompletedTask;
        }), default);

        Assert.Equal(LambdaRuntimeLoop.ExitRuntimeApiFailed, exit);
        var (_, error) = Assert.Single(_client.Errors);
        Assert.Equal("the handler fell over", error.ErrorMessage);
        Assert.Equal("InvalidOperationException", error.ErrorType);
        Assert.Equal("Function.InvalidOperationException", error.Category);
        Assert.NotEmpty(error.StackTrace);
        var (_, body) = Assert.Single(_client.Responses);
        Assert.Equal("{\"fine\":true}", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task Run_InitFailure_GoesToInitErrorAndExitsNonZeroWithoutFetchingEvents()
    {
        _client.Enqueue("never fetched");

        var exit = await Loop().RunAsync(_ => throw new InvalidOperationException("MODEL_NAME='x' is not in the catalog"), default);

        Assert.Equal(LambdaRuntimeLoop.ExitInitFailed, exit);
        var error = Assert.Single(_client.InitErrors);
        Assert.Contains("MODEL_NAME='x'", error.ErrorMessage);
        Assert.StartsWith("Runtime.InitError.", error.Category);
        Assert.Empty(_client.Responses);
    }

    [Fact]
    public async Task Run_RuntimeApi500_StopsTheLoopWithTheRuntimeFailureExitCode()
    {
        _client.EnqueueFailure(500);
        var handled = 0;

        var exit = await Loop().RunAsync(_ => Handler((_, _, _) => { handled++; return Task.CompletedTask; }), default);

        Assert.Equal(LambdaRuntimeLoop.ExitRuntimeApiFailed, exit);
        Assert.Equal(0, handled);
        Assert.Contains("injected", _diagnostics.ToString());
    }

    [Fact]
    public async Task Run_DeadlineHeader_BecomesACancellationTokenThatFiresAtTheDeadline()
    {
        _client.Enqueue("slow", timeout: TimeSpan.FromMilliseconds(300));
        var cancelledAfter = TimeSpan.Zero;

        await Loop().RunAsync(_ => Handler(async (_, _, ct) =>
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(TimeSpan.FromSeconds(10), ct));
            cancelledAfter = started.Elapsed;
            throw new OperationCanceledException(ct);
        }), default, maxInvocations: 1);

        Assert.InRange(cancelledAfter, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(3));
        Assert.Single(_client.Errors);
    }

    [Fact]
    public async Task Run_TraceHeader_IsExportedAsXAmznTraceIdForEachInvocation()
    {
        _client.Enqueue("a", traceId: "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");
        _client.Enqueue("b", traceId: null);
        var seen = new List<string?>();

        await Loop().RunAsync(_ => Handler((_, _, _) =>
        {
            seen.Add(_environment.GetValueOrDefault("_X_AMZN_TRACE_ID"));
            return Task.CompletedTask;
        }), default, maxInvocations: 2);

        Assert.Equal(["Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1", null], seen);
    }

    [Fact]
    public async Task Run_ResponseOverSixMegabytes_IsReportedAsAnErrorThatNamesTheLimit()
    {
        _client.Enqueue("big");

        await Loop().RunAsync(_ => Handler((_, output, _) =>
        {
            var span = output.GetSpan(LambdaRuntimeLoop.MaxResponseBytes + 1);
            output.Advance(LambdaRuntimeLoop.MaxResponseBytes + 1);
            return Task.CompletedTask;
        }), default, maxInvocations: 1);

        var (_, error) = Assert.Single(_client.Errors);
        Assert.Equal("ResponseTooLarge", error.ErrorType);
        Assert.Contains("batch scoring", error.ErrorMessage);
        Assert.Empty(_client.Responses);
    }

    [Fact]
    public async Task Run_RejectedResponse_IsReportedAsAnErrorAndTheLoopContinues()
    {
        _client.Enqueue("a");
        _client.ResponseStatus = 413;

        await Loop().RunAsync(_ => Handler((_, output, _) => { output.Write("{}"u8); return Task.CompletedTask; }), default, maxInvocations: 1);

        var (_, error) = Assert.Single(_client.Errors);
        Assert.Contains("413", error.ErrorMessage);
    }
}
