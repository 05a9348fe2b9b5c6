using System.Collections.Concurrent;
using Serverless.Lambda.Runtime;

namespace Serverless.Lambda.Tests.Runtime;

/// <summary>A scripted Runtime API: hands out queued invocations, records responses and errors.</summary>
internal sealed class FakeRuntimeApiClient : IRuntimeApiClient
{
    private readonly ConcurrentQueue<Func<LambdaInvocation>> _next = new();

    public List<(string Id, byte[] Body)> Responses { get; } = [];

    public List<(string Id, LambdaError Error)> Errors { get; } = [];

    public List<LambdaError> InitErrors { get; } = [];

    public int ResponseStatus { get; set; } = 202;

    public void Enqueue(string payload, TimeSpan? timeout = null, string? traceId = null) =>
        _next.Enqueue(() => new LambdaInvocation
        {
            RequestId = "req-" + (Responses.Count + Errors.Count + _next.Count),
            Deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(30)),
            TraceId = traceId,
            Payload = System.Text.Encoding.UTF8.GetBytes(payload),
        });

    public void EnqueueFailure(int status) =>
        _next.Enqueue(() => throw new RuntimeApiException("injected", status));

    public Task<LambdaInvocation> GetNextInvocationAsync(CancellationToken cancellationToken) =>
        _next.TryDequeue(out var next) ? Task.FromResult(next()) : throw new RuntimeApiException("no more invocations scripted", 500);

    public Task SendResponseAsync(string requestId, ReadOnlyMemory<byte> response, CancellationToken cancellationToken)
    {
        if (ResponseStatus != 202)
        {
            throw new RuntimeApiException("rejected", ResponseStatus);
        }

        Responses.Add((requestId, response.ToArray()));
        return Task.CompletedTask;
    }

    public Task SendInvocationErrorAsync(string requestId, LambdaError error, CancellationToken cancellationToken)
    {
        Errors.Add((requestId, error));
        return Task.CompletedTask;
    }

    public Task SendInitErrorAsync(LambdaError error, CancellationToken cancellationToken)
    {
        InitErrors.Add(error);
        return Task.CompletedTask;
    }
}

/// <summary>A handler that runs a delegate per invocation.</summary>
internal sealed class DelegateHandler(Func<LambdaInvocation, System.Buffers.IBufferWriter<byte>, CancellationToken, Task> handle) : ILambdaHandler
{
    public Task HandleAsync(LambdaInvocation invocation, System.Buffers.IBufferWriter<byte> response, CancellationToken cancellationToken) =>
        handle(invocation, response, cancellationToken);
}
