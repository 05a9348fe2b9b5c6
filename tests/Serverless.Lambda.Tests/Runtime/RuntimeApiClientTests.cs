using System.Text;
using System.Text.Json;
using Serverless.Lambda.Emulator;
using Serverless.Lambda.Runtime;

namespace Serverless.Lambda.Tests.Runtime;

/// <summary>The real HTTP client against the loopback Runtime API emulator.</summary>
public sealed class RuntimeApiClientTests : IAsyncLifetime
{
    private RuntimeApiEmulator _emulator = null!;
    private RuntimeApiClient _client = null!;

    public async Task InitializeAsync()
    {
        _emulator = await RuntimeApiEmulator.StartAsync();
        _client = new RuntimeApiClient(_emulator.Endpoint);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task GetNext_ReadsEveryInvocationHeader_AndTheResponseReachesTheCaller()
    {
        var invoke = _emulator.InvokeAsync("{\"hello\":1}"u8.ToArray(), TimeSpan.FromSeconds(20), "Root=1-abc;Sampled=1");

        var invocation = await _client.GetNextInvocationAsync(default);
        Assert.Equal("{\"hello\":1}", Encoding.UTF8.GetString(invocation.Payload.Span));
        Assert.Equal("Root=1-abc;Sampled=1", invocation.TraceId);
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:local", invocation.InvokedFunctionArn);
        Assert.InRange(invocation.RemainingTime(DateTimeOffset.UtcNow), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(21));
        await _client.SendResponseAsync(invocation.RequestId, "{\"ok\":true}"u8.ToArray(), default);

        var result = await invoke;
        Assert.False(result.IsError);
        Assert.Equal(invocation.RequestId, result.RequestId);
        Assert.Equal("{\"ok\":true}", result.BodyText);
    }

    [Fact]
    public async Task SendError_PostsTheDocumentedErrorShapeWithTheErrorTypeHeader()
    {
        var invoke = _emulator.InvokeAsync("{}"u8.ToArray(), TimeSpan.FromSeconds(20));
        var invocation = await _client.GetNextInvocationAsync(default);

        await _client.SendInvocationErrorAsync(invocation.RequestId, LambdaError.FromException(new InvalidOperationException("boom"), "Function"), default);

        var result = await invoke;
        Assert.True(result.IsError);
        Assert.Equal("Function.InvalidOperationException", result.ErrorType);
        using var json = JsonDocument.Parse(result.Body);
        Assert.Equal("boom", json.RootElement.GetProperty("errorMessage").GetString());
        Assert.Equal("InvalidOperationException", json.RootElement.GetProperty("errorType").GetString());
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("stackTrace").ValueKind);
    }

    [Fact]
    public async Task SendResponse_ForAnUnknownRequestId_ThrowsANonFatalRuntimeApiError()
    {
        var ex = await Assert.ThrowsAsync<RuntimeApiException>(() => _client.SendResponseAsync("no-such-id", "{}"u8.ToArray(), default));
        Assert.Equal(400, ex.StatusCode);
        Assert.False(ex.IsFatal);
    }

    [Fact]
    public async Task GetNext_When500_ThrowsAFatalErrorThatSaysTheProcessExits()
    {
        _emulator.FailNextWith(500);

        var ex = await Assert.ThrowsAsync<RuntimeApiException>(() => _client.GetNextInvocationAsync(default));
        Assert.True(ex.IsFatal);
        Assert.Contains("exits", ex.Message);
    }

    [Fact]
    public async Task Client_WhenTheRuntimeApiIsGone_ThrowsAFatalError()
    {
        using var client = new RuntimeApiClient("127.0.0.1:1");
        var ex = await Assert.ThrowsAsync<RuntimeApiException>(() => client.GetNextInvocationAsync(default));
        Assert.True(ex.IsFatal);
        Assert.Equal(0, ex.StatusCode);
    }

    [Fact]
    public void FromEnvironment_WithoutTheVariable_SaysHowToRunTheBootstrap()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => RuntimeApiClient.FromEnvironment(_ => null));
        Assert.Contains("AWS_LAMBDA_RUNTIME_API", ex.Message);
        Assert.Contains("emulator", ex.Message);
    }
}
