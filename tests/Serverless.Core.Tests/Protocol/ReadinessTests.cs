using Serverless.Core.Hosting;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Tests.Storage;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Protocol;

/// <summary>
/// Readiness over the real registry, store and ONNX Runtime, as every edge serves it (they all share the
/// protocol handler): ready means servable (artifact present and verified), loaded is a separate fact, and
/// <c>/v2/health/ready</c> agrees with the per-model endpoints.
/// </summary>
public sealed class ReadinessTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public ReadinessTests()
    {
        foreach (var name in new[] { "text-direction", "voice-activity" })
        {
            _temp.Write($"models/{name}/model.json", File.ReadAllBytes(Path.Combine(RepoPaths.Models, name, "model.json")));
        }

        // The store holds text-direction's artifact only: voice-activity's is missing.
        _temp.Write("store/text-direction/1/model.onnx", File.ReadAllBytes(RepoPaths.ModelFile("text-direction")));
    }

    public void Dispose() => _temp.Dispose();

    private Task<ModelServices> ServicesAsync(string? modelName = null, string[]? preload = null) =>
        ModelServices.CreateAsync(new ServerlessSettings
        {
            ModelStore = "file://" + _temp.Combine("store"),
            ModelsDirectory = _temp.Combine("models"),
            CacheDirectory = _temp.Combine("cache"),
            MemoryBudgetBytes = 1L << 30,
            ModelName = modelName,
            Preload = preload ?? [],
        }, OnnxSessionFactory.Instance);

    [Fact]
    public async Task WaitUntilReadyLoop_Ends_WithoutAnyInferenceOrSession()
    {
        using var services = await ServicesAsync(modelName: "text-direction");
        var handler = new ProtocolHandler(services.Repository, new ProtocolOptions { ServedModel = "text-direction" });

        var model = await WaitForStatusAsync(handler, "/v2/models/text-direction/ready", 200);
        var server = await handler.SendAsync("GET", "/v2/health/ready");
        var index = await handler.SendAsync("POST", "/v2/repository/index");

        Assert.Equal(200, model.Status);
        Assert.Equal("READY", model.Json.RootElement.GetProperty("state").GetString());
        Assert.False(model.Json.RootElement.GetProperty("loaded").GetBoolean());
        Assert.Equal(200, server.Status);
        var entry = Assert.Single(index.Json.RootElement.EnumerateArray());
        Assert.False(entry.GetProperty("loaded").GetBoolean());
        Assert.Equal("ready, loads on first use", entry.GetProperty("reason").GetString());
        Assert.Equal(0, services.Registry.LoadCount("text-direction"));
    }

    [Fact]
    public async Task MissingArtifact_IsNotReady_AndServerReadinessAgreesNamingIt()
    {
        using var services = await ServicesAsync();
        var handler = new ProtocolHandler(services.Repository);

        var present = await handler.SendAsync("GET", "/v2/models/text-direction/ready");
        var missing = await handler.SendAsync("GET", "/v2/models/voice-activity/ready");
        var server = await handler.SendAsync("GET", "/v2/health/ready");

        Assert.Equal(200, present.Status);
        Assert.Equal(503, missing.Status);
        Assert.Equal("FAILED", missing.Json.RootElement.GetProperty("state").GetString());
        Assert.Contains("does not exist in the store", missing.Error);
        Assert.Equal(503, server.Status);
        Assert.Contains("'voice-activity'", server.Error);
        Assert.Contains("does not exist in the store", server.Error);
    }

    [Fact]
    public async Task PreloadedModel_IsReadyOnlyOnceLoaded()
    {
        using var services = await ServicesAsync(modelName: "text-direction", preload: ["text-direction"]);
        var handler = new ProtocolHandler(services.Repository, new ProtocolOptions { ServedModel = "text-direction" });

        var first = await handler.SendAsync("GET", "/v2/models/text-direction/ready");
        var ready = await WaitForStatusAsync(handler, "/v2/models/text-direction/ready", 200);

        Assert.Equal(503, first.Status);
        Assert.True(ready.Json.RootElement.GetProperty("loaded").GetBoolean());
        Assert.Equal(200, (await handler.SendAsync("GET", "/v2/health/ready")).Status);
        Assert.Equal(1, services.Registry.LoadCount("text-direction"));
    }

    private static async Task<ProtocolReply> WaitForStatusAsync(ProtocolHandler handler, string path, int status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var reply = await handler.SendAsync("GET", path);
            if (reply.Status == status || DateTime.UtcNow > deadline)
            {
                return reply;
            }

            await Task.Delay(20);
        }
    }
}
