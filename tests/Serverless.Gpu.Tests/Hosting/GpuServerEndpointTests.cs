using System.Net;
using System.Text.Json;
using Serverless.Gpu.Tests.Batching;
using Serverless.Gpu.Tests.Fixtures;

namespace Serverless.Gpu.Tests.Hosting;

// Shares GatedSession's static gate with the batching tests, so the two classes never run at once.
[Collection(nameof(GatedSession))]
public sealed class GpuServerEndpointTests
{
    [Fact]
    public async Task Metadata_WithoutCuda_ReportsCpuFallbackPerLoadedModelAndWarnsOnce()
    {
        await using var host = await GpuTestServer.StartAsync(preload: ["text-direction", "voice-activity"]);

        var metadata = JsonDocument.Parse(await host.Client.GetStringAsync("/v2")).RootElement;
        var stats = await DynamicBatchingEndToEndTests.StatsAsync(host);

        var providers = metadata.GetProperty("execution_providers");
        Assert.Equal("CPUExecutionProvider", providers.GetProperty("text-direction").GetString());
        Assert.Equal("CPUExecutionProvider", providers.GetProperty("voice-activity").GetString());
        Assert.Contains("statistics", metadata.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("READY", stats.GetProperty("state").GetString());
        Assert.Equal("CUDAExecutionProvider", stats.GetProperty("requested_execution_provider").GetString());
        Assert.Equal("CPUExecutionProvider", stats.GetProperty("execution_provider").GetString());
        Assert.Contains("CUDA execution provider unavailable", stats.GetProperty("fallback_reason").GetString());
        var warnings = host.Logs.Entries.Where(e => e.EventId == 1001).ToArray();
        var warning = Assert.Single(warnings); // two models fell back, one warning
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("CUDA is not available", warning.Message);
    }

    [Fact]
    public async Task Stats_ForAModelNotLoadedYet_ReportTheProvidersItWillGetAndDoNotLoadIt()
    {
        await using var host = await GpuTestServer.StartAsync();

        var stats = await DynamicBatchingEndToEndTests.StatsAsync(host, "voice-activity");
        var metadata = JsonDocument.Parse(await host.Client.GetStringAsync("/v2")).RootElement;

        Assert.Equal("UNAVAILABLE", stats.GetProperty("state").GetString());
        Assert.Equal("CPUExecutionProvider", stats.GetProperty("execution_provider").GetString()); // what the start-up probe got
        Assert.False(stats.GetProperty("gpu_required").GetBoolean());
        Assert.False(stats.GetProperty("batching").GetProperty("enabled").GetBoolean()); // state [2,B,128] has no dynamic first dimension
        Assert.Equal("CPUExecutionProvider", metadata.GetProperty("execution_provider").GetString());
        Assert.Equal(["text-direction", "voice-activity"], metadata.GetProperty("execution_providers").EnumerateObject().Select(p => p.Name).Order());
        Assert.All(metadata.GetProperty("execution_providers").EnumerateObject(), p => Assert.Equal("CPUExecutionProvider", p.Value.GetString()));
        Assert.Equal("UNAVAILABLE", (await DynamicBatchingEndToEndTests.StatsAsync(host, "voice-activity")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Requests_ForAModelOutsideModelNames_Are404NamingTheServedModels()
    {
        await using var host = await GpuTestServer.StartAsync(modelNames: ["text-direction"]);

        var infer = await host.Client.PostAsync("/v2/models/voice-activity/infer", new StringContent("{}"));
        var stats = await host.Client.GetAsync("/v2/models/voice-activity/stats");

        Assert.Equal(HttpStatusCode.NotFound, infer.StatusCode);
        Assert.Contains("text-direction", JsonDocument.Parse(await infer.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, stats.StatusCode);
    }

    [Fact]
    public async Task Protocol_RoutesAndErrors_AreTheCoreHandlers()
    {
        await using var host = await GpuTestServer.StartAsync();

        var live = await host.Client.GetAsync("/v2/health/live");
        var ready = await host.Client.GetAsync("/v2/health/ready");
        var badMethod = await host.Client.DeleteAsync("/v2/models/text-direction/infer");
        var badBody = await host.Client.PostAsync("/v2/models/text-direction/infer", new StringContent("{not json"));
        var dotted = await host.Client.GetAsync("/v2/models/text.direction");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, badMethod.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badBody.StatusCode);
        Assert.Contains("not valid", JsonDocument.Parse(await badBody.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, dotted.StatusCode); // reaches the handler (a JSON 404), not an empty routing 404
        Assert.Contains("text.direction", await dotted.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Stop_WhileARequestIsInFlight_TurnsReadyUnavailableThenFinishesTheRequest()
    {
        GatedSession.Gate.Reset();
        try
        {
            await using var host = await GpuTestServer.StartAsync(wrapSession: s => new GatedSession(s), drainDelay: TimeSpan.FromSeconds(1));
            using var probe = new HttpClient { BaseAddress = host.Server.BaseAddress };
            while (GatedSession.Started.CurrentCount > 0)
            {
                await GatedSession.Started.WaitAsync();
            }

            var inFlight = Task.Run(() => TextDirection.InferAsync(host.Client, TextDirection.Image(7)));
            Assert.True(await GatedSession.Started.WaitAsync(TimeSpan.FromSeconds(30)));

            var stopping = host.Server.StopAsync();
            var ready = await probe.GetAsync("/v2/health/ready");
            var readyBody = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;

            Assert.True(host.Server.IsDraining);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.False(readyBody.GetProperty("ready").GetBoolean());
            Assert.Contains("draining", readyBody.GetProperty("error").GetString());
            Assert.False(stopping.IsCompleted);

            GatedSession.Gate.Set();
            var answer = await inFlight;
            await stopping.WaitAsync(TimeSpan.FromSeconds(20));

            Assert.Equal(200, answer.Status);
            Assert.Equal(TextDirection.Reference([TextDirection.Image(7)])[0], answer.Output, (a, b) => Math.Abs(a - b) < 1e-5);
            await Assert.ThrowsAsync<HttpRequestException>(() => new HttpClient { BaseAddress = host.Server.BaseAddress }.GetAsync("/v2/health/live"));
        }
        finally
        {
            GatedSession.Gate.Set();
        }
    }
}
