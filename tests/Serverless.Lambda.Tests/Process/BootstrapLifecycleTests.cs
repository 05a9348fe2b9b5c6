using System.Text.Json;

namespace Serverless.Lambda.Tests.Process;

/// <summary>Init failures and Runtime API failures end the real process the way Lambda expects.</summary>
public sealed class BootstrapLifecycleTests
{
    [Fact]
    public async Task UnknownModelName_IsReportedToInitErrorAndTheProcessExitsWithCode1()
    {
        await using var host = await BootstrapHost.StartAsync(new Dictionary<string, string?> { ["MODEL_NAME"] = "no-such-model" });

        var error = await host.Emulator.InitError.WaitAsync(TimeSpan.FromSeconds(30));
        var exit = await host.Process.Exited.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exit);
        Assert.StartsWith("Runtime.InitError.", error.ErrorType);
        var message = JsonDocument.Parse(error.Body).RootElement.GetProperty("errorMessage").GetString();
        Assert.Contains("MODEL_NAME", message);
        Assert.Contains("text-direction", message); // lists what the catalog holds
    }

    [Fact]
    public async Task RuntimeApi500_MakesTheProcessExitPromptlyWithCode2()
    {
        await using var host = await BootstrapHost.StartAsync(new Dictionary<string, string?> { ["MODEL_PRELOAD"] = "0" });
        await host.Emulator.FirstNextRequest.WaitAsync(TimeSpan.FromSeconds(30)); // init done, waiting for an event
        await host.InvokeJsonAsync(Events.EventSamples.HttpApiV2("GET", "/prod/v2/health/live", null));

        host.Emulator.FailNextWith(500);
        await host.InvokeAsync("{}", TimeSpan.FromSeconds(2)); // releases the pending /next; the runtime sees the 500 on its next poll
        var started = DateTimeOffset.UtcNow;
        var exit = await host.Process.Exited.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(2, exit);
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(10));
        Assert.Contains(host.Process.StandardError, l => l.Contains("500", StringComparison.Ordinal));
    }
}
