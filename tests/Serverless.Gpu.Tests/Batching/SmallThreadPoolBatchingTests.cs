using System.Text.Json;
using Serverless.Gpu.Tests.Fixtures;
using Serverless.Tests.Shared;

namespace Serverless.Gpu.Tests.Batching;

/// <summary>
/// Batching on a small thread pool, in a server process of its own: DOTNET_PROCESSOR_COUNT=2 gives it the
/// thread pool of a 2-core machine (2 threads before the pool adds more). The batcher's leader waits for the
/// delay and for a run slot without holding a thread, and callers block on a task, which the pool makes up
/// for; 16 concurrent requests must then share a few runs, not run one by one.
/// </summary>
public sealed class SmallThreadPoolBatchingTests
{
    private const int Requests = 16;

    [Fact]
    public async Task Infer_SixteenConcurrentRequestsOnATwoCorePool_FormFewBatches()
    {
        await using var server = GpuServerProcess.Start(new Dictionary<string, string?>
        {
            ["DOTNET_PROCESSOR_COUNT"] = "2",
            ["GPU_PREFER_CUDA"] = "false",
            ["SERVERLESS_ORT_LIBRARY"] = RepoPaths.OrtLibrary,
            ["GPU_BATCH_DELAY_MS"] = "100",
            ["GPU_MAX_BATCH_SIZE"] = "16",
            ["MODEL_PRELOAD"] = "text-direction",
        });
        Assert.True(await server.WaitUntilListeningAsync(TimeSpan.FromSeconds(90)), server.StandardError);
        while ((await server.Client.GetAsync("/v2/health/ready")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            Assert.False(server.HasExited, server.StandardError);
            await Task.Delay(100);
        }

        var images = Enumerable.Range(0, Requests).Select(i => TextDirection.Image(seed: i)).ToArray();
        using var start = new ManualResetEventSlim(false);
        var answers = images.Select(image => Task.Run(async () =>
        {
            start.Wait();
            return await TextDirection.InferAsync(server.Client, image);
        })).ToArray();
        start.Set();
        await Task.WhenAll(answers);
        var stats = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/text-direction/stats")).RootElement.GetProperty("model_stats")[0];

        Assert.All(answers, a => Assert.Equal(200, a.Result.Status));
        Assert.Equal(Requests, stats.GetProperty("inference_count").GetInt64());
        var runs = stats.GetProperty("execution_count").GetInt64();
        Assert.True(runs <= 6, $"{Requests} concurrent requests ran as {runs} runs (largest batch {stats.GetProperty("largest_batch").GetInt32()}); a batching delay of 100 ms should join them into a few.");
    }
}
