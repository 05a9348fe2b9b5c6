using System.Diagnostics;
using System.Globalization;
using Serverless.Core.Inference.Batching;
using Serverless.Gpu.Tests.Fixtures;
using Xunit.Abstractions;

namespace Serverless.Gpu.Tests.Batching;

/// <summary>
/// Throughput and p99 latency of text-direction on CPU with 16 concurrent clients, dynamic batching on
/// (2 ms delay, one run at a time) against off (every request its own run, 16 at a time, as the functions
/// run). Prints the figures; asserts only that every answer was a 200, because timings on a shared machine
/// are not a pass/fail matter. SERVERLESS_MEASURE_REQUESTS raises the request count (docs/gpu.md used 2000).
/// </summary>
[Collection(nameof(GatedSession))]
public sealed class BatchingThroughputMeasurement(ITestOutputHelper output)
{
    private const int Clients = 16;

    [Fact]
    [Trait("Category", "Measurement")]
    public async Task Measure_TextDirectionAtSixteenClients_BatchedAgainstUnbatched()
    {
        var requests = int.TryParse(Environment.GetEnvironmentVariable("SERVERLESS_MEASURE_REQUESTS"), CultureInfo.InvariantCulture, out var n) ? n : 320;
        var images = Enumerable.Range(0, Clients).Select(i => TextDirection.Image(seed: 1000 + i)).ToArray();

        var unbatched = await RunAsync(new DynamicBatchingOptions { MaxBatchSize = 0, MaxConcurrentRuns = Clients, MaxQueuedRequests = 1024 }, images, requests);
        var batched = await RunAsync(new DynamicBatchingOptions { MaxQueuedRequests = 1024 }, images, requests);

        output.WriteLine($"text-direction, CPU, {Clients} clients, {requests} requests each mode, {Environment.ProcessorCount} cores");
        output.WriteLine($"unbatched: {unbatched.Throughput:F1} req/s, p50 {unbatched.P50:F1} ms, p99 {unbatched.P99:F1} ms");
        output.WriteLine($"batched:   {batched.Throughput:F1} req/s, p50 {batched.P50:F1} ms, p99 {batched.P99:F1} ms, mean batch {batched.MeanBatch:F1}");
        output.WriteLine($"throughput ratio batched/unbatched: {batched.Throughput / unbatched.Throughput:F2}");
        Assert.True(batched.MeanBatch > 1, $"mean batch {batched.MeanBatch}");
    }

    private static async Task<(double Throughput, double P50, double P99, double MeanBatch)> RunAsync(DynamicBatchingOptions batching, float[][] images, int requests)
    {
        await using var host = await GpuTestServer.StartAsync(batching, modelNames: ["text-direction"], preload: ["text-direction"]);
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(200, (await TextDirection.InferAsync(host.Client, images[i])).Status); // warm up
        }

        var before = (await DynamicBatchingEndToEndTests.StatsAsync(host)).GetProperty("execution_count").GetInt64();
        var latencies = new double[requests];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                var started = Stopwatch.GetTimestamp();
                var answer = await TextDirection.InferAsync(host.Client, images[i % images.Length]);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Assert.Equal(200, answer.Status);
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var runs = (await DynamicBatchingEndToEndTests.StatsAsync(host)).GetProperty("execution_count").GetInt64() - before;
        Array.Sort(latencies);
        return (requests / elapsed, latencies[requests / 2], latencies[Math.Min(requests - 1, (int)Math.Ceiling(requests * 0.99) - 1)], (double)requests / runs);
    }
}
