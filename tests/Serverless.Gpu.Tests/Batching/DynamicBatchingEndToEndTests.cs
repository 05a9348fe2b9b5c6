using System.Diagnostics.Metrics;
using System.Text.Json;
using Serverless.Core.Inference.Batching;
using Serverless.Gpu.Observability;
using Serverless.Gpu.Tests.Fixtures;

namespace Serverless.Gpu.Tests.Batching;

// Shares GatedSession's static gate with the endpoint tests, so the two classes never run at once.
[Collection(nameof(GatedSession))]
public sealed class DynamicBatchingEndToEndTests
{
    [Fact]
    public async Task Infer_SixteenConcurrentDifferentImages_AreBatchedAndEachCallerGetsItsOwnUnbatchedResult()
    {
        await using var host = await GpuTestServer.StartAsync(new DynamicBatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(20) });
        await host.Client.PostAsync("/v2/repository/models/text-direction/load", null);
        var images = Enumerable.Range(0, 16).Select(i => TextDirection.Image(seed: i)).ToArray();
        var expected = TextDirection.Reference(images);
        var batchSizes = new List<int>();
        using var listener = ListenToBatchSizes(host.Server.Metrics.Meter, batchSizes);

        var answers = await Task.WhenAll(images.Select(image => Task.Run(() => TextDirection.InferAsync(host.Client, image))));

        for (var i = 0; i < images.Length; i++)
        {
            Assert.Equal(200, answers[i].Status);
            Assert.Equal(2, answers[i].Output.Length);
            for (var k = 0; k < 2; k++)
            {
                Assert.InRange(Math.Abs(answers[i].Output[k] - expected[i][k]), 0, 1e-5);
            }
        }

        // The images differ, so equal answers for all would mean a mix-up; at least two classes' scores differ.
        Assert.True(answers.Select(a => a.Output[0]).Distinct().Count() > 1);
        lock (batchSizes)
        {
            Assert.Equal(16, batchSizes.Sum());
            Assert.Contains(batchSizes, size => size > 1);
        }

        var stats = await StatsAsync(host);
        Assert.True(stats.GetProperty("joined_execution_count").GetInt64() >= 1);
        Assert.Equal(16, stats.GetProperty("inference_count").GetInt64());
        Assert.True(stats.GetProperty("largest_batch").GetInt32() > 1);
    }

    [Fact]
    public async Task Infer_ImagesOfDifferentWidths_RunSeparatelyAndEachIsCorrect()
    {
        await using var host = await GpuTestServer.StartAsync(new DynamicBatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(20) });
        var wide = Enumerable.Range(0, 4).Select(i => TextDirection.Image(seed: 100 + i)).ToArray();
        var narrow = Enumerable.Range(0, 4).Select(i => TextDirection.Image(seed: 200 + i, width: 96)).ToArray();
        var expectedWide = TextDirection.Reference(wide);
        var expectedNarrow = TextDirection.Reference(narrow, width: 96);

        var wideAnswers = wide.Select(image => Task.Run(() => TextDirection.InferAsync(host.Client, image))).ToArray();
        var narrowAnswers = narrow.Select(image => Task.Run(() => TextDirection.InferAsync(host.Client, image, width: 96))).ToArray();
        await Task.WhenAll([.. wideAnswers, .. narrowAnswers]);

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(expectedWide[i], (await wideAnswers[i]).Output, (a, b) => Math.Abs(a - b) < 1e-5);
            Assert.Equal(expectedNarrow[i], (await narrowAnswers[i]).Output, (a, b) => Math.Abs(a - b) < 1e-5);
        }

        var stats = await StatsAsync(host);
        Assert.True(stats.GetProperty("largest_batch").GetInt32() <= 4, "a batch mixed widths 192 and 96");
    }

    [Fact]
    public async Task Infer_WhenAJoinedRunFails_EveryCallerInTheBatchGetsTheError()
    {
        await using var host = await GpuTestServer.StartAsync(
            new DynamicBatchingOptions { MaxDelay = TimeSpan.FromSeconds(5), MaxBatchSize = 4 },
            wrapSession: s => new FailsWhenJoinedSession(s));
        await host.Client.PostAsync("/v2/repository/models/text-direction/load", null);

        // Four one-row requests fill the batch of 4, which closes at once and fails as a whole.
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => TextDirection.InferAsync(host.Client, TextDirection.Image(i)))));

        foreach (var answer in answers)
        {
            Assert.Equal(500, answer.Status);
            var error = JsonDocument.Parse(answer.Body).RootElement.GetProperty("error").GetString()!;
            Assert.Contains("out of device memory for 4 rows", error);
            Assert.Contains("batch of 4 requests", error);
        }

        var stats = await StatsAsync(host);
        Assert.Equal(1, stats.GetProperty("failed_execution_count").GetInt64());
    }

    [Fact]
    public async Task Infer_WhenTheModelQueueIsFull_Answers503WithRetryAfter()
    {
        GatedSession.Gate.Reset();
        try
        {
            await using var host = await GpuTestServer.StartAsync(
                new DynamicBatchingOptions { MaxDelay = TimeSpan.Zero, MaxQueuedRequests = 1, RetryAfterSeconds = 2 },
                wrapSession: s => new GatedSession(s));
            while (GatedSession.Started.CurrentCount > 0)
            {
                await GatedSession.Started.WaitAsync();
            }

            var blocked = Task.Run(() => TextDirection.InferAsync(host.Client, TextDirection.Image(1)));
            Assert.True(await GatedSession.Started.WaitAsync(TimeSpan.FromSeconds(30)));

            var refused = await TextDirection.InferAsync(host.Client, TextDirection.Image(2));

            Assert.Equal(503, refused.Status);
            Assert.Equal("2", refused.Response.Headers.GetValues("Retry-After").Single());
            Assert.Contains("'text-direction' is overloaded", JsonDocument.Parse(refused.Body).RootElement.GetProperty("error").GetString());
            GatedSession.Gate.Set();
            Assert.Equal(200, (await blocked).Status);
            Assert.Equal(1, (await StatsAsync(host)).GetProperty("rejected_count").GetInt64());
        }
        finally
        {
            GatedSession.Gate.Set();
        }
    }

    internal static async Task<JsonElement> StatsAsync(GpuTestServer host, string model = "text-direction")
    {
        var text = await host.Client.GetStringAsync($"/v2/models/{model}/stats");
        return JsonDocument.Parse(text).RootElement.GetProperty("model_stats")[0].Clone();
    }

    private static MeterListener ListenToBatchSizes(Meter meter, List<int> sizes)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "serverless.gpu.batch_size")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
        {
            lock (sizes)
            {
                sizes.Add(value);
            }
        });
        listener.Start();
        Assert.Equal(GpuMetrics.MeterName, meter.Name);
        return listener;
    }
}
