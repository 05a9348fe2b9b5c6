using System.Text.Json;
using Serverless.Lambda.Tests.Events;
using Serverless.Lambda.Tests.Process;

namespace Serverless.Lambda.Tests.Batch;

/// <summary>
/// Batch scoring through the built bootstrap against a real s3rver: S3 and SQS-wrapped notifications,
/// keys with spaces and '+', a malformed line, a redelivered event, and a deadline-forced continuation.
/// </summary>
public sealed class BootstrapBatchTests(S3rverHost s3) : IClassFixture<S3rverHost>
{
    private static string Lines(int count, int seed, int? badLine = null) =>
        string.Join("\n", Enumerable.Range(0, count).Select(i => i == badLine ? "{\"inputs\": [oops" : InferRequests.Json(seed + i, $"line-{i}", width: 48))) + "\n";

    /// <summary>The notification S3 would send for <paramref name="key"/> (URL-encoded, with the object's real ETag).</summary>
    private async Task<string> S3EventFor(string key)
    {
        var properties = await s3.Store.GetPropertiesAsync(key, default);
        var encoded = string.Join("/", key.Split('/').Select(segment => Uri.EscapeDataString(segment).Replace("%20", "+")));
        return EventSamples.S3Put(S3rverHost.Bucket, encoded, properties!.ETag!.Trim('"'), properties.Size);
    }

    private Task<BootstrapHost> StartAsync(Dictionary<string, string?>? extra = null)
    {
        var env = s3.Environment;
        env["MODEL_NAME"] = null; // a batch function scores the model named by the key's folder
        env["MODEL_PRELOAD"] = "text-direction";
        env["BATCH_MODELS"] = "text-direction";
        foreach (var (k, v) in extra ?? [])
        {
            env[k] = v;
        }

        return BootstrapHost.StartAsync(env);
    }

    private static void AssertOutputLines(string output, int count, int? badLine)
    {
        var lines = output.Split('\n');
        Assert.Equal(count + 1, lines.Length);
        Assert.Equal("", lines[^1]);
        for (var i = 0; i < count; i++)
        {
            var line = JsonDocument.Parse(lines[i]).RootElement;
            if (i == badLine)
            {
                Assert.Contains($"Line {i + 1}", line.GetProperty("error").GetString());
                continue;
            }

            Assert.Equal($"line-{i}", line.GetProperty("id").GetString());
            var p = line.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.InRange(p[0] + p[1], 0.999f, 1.001f);
        }
    }

    [Fact]
    public async Task S3Event_KeyWithSpacesAndPlus_IsScoredLineForLineAndARedeliveryWritesNothingNew()
    {
        const string key = "incoming/text-direction/my file+v1 (a).jsonl";
        await s3.PutTextAsync(key, Lines(12, 100, badLine: 4));
        await using var host = await StartAsync();
        var notification = await S3EventFor(key);

        var doc = await host.InvokeJsonAsync(notification);

        var file = doc.GetProperty("files")[0];
        Assert.Equal(key, file.GetProperty("key").GetString());
        Assert.Equal("Completed", file.GetProperty("status").GetString());
        Assert.Equal(12, file.GetProperty("lines").GetInt64());
        Assert.Equal(1, file.GetProperty("failed").GetInt64());
        var outputKey = file.GetProperty("output").GetString()!;
        Assert.StartsWith("results/text-direction/my file+v1 (a).", outputKey);
        AssertOutputLines(await s3.GetTextAsync(outputKey), 12, badLine: 4);
        var summary = JsonDocument.Parse(await s3.GetTextAsync(outputKey[..^".jsonl".Length] + ".summary.json")).RootElement;
        Assert.Equal(11, summary.GetProperty("succeeded").GetInt64());
        Assert.Equal("text-direction", summary.GetProperty("model").GetString());
        Assert.Equal("1", summary.GetProperty("modelVersion").GetString());
        var before = await s3.ListAsync("results/");

        var again = await host.InvokeJsonAsync(notification);

        Assert.Equal("AlreadyCompleted", again.GetProperty("files")[0].GetProperty("status").GetString());
        Assert.Equal(outputKey, again.GetProperty("files")[0].GetProperty("output").GetString());
        Assert.Equal(before, await s3.ListAsync("results/"));
        await Task.Delay(200);
        var log = host.Process.StandardOutput.Select(l => JsonDocument.Parse(l).RootElement).First(l => l.GetProperty("event").GetString() == "S3");
        Assert.Equal(11, log.GetProperty("BatchRecordsScored").GetInt64());
        Assert.Equal(1, log.GetProperty("BatchRecordsFailed").GetInt64());
    }

    [Fact]
    public async Task SqsBatch_TestEventIsAcknowledged_AndOnlyTheFailingMessageIsReturnedForRetry()
    {
        const string good = "incoming/text-direction/sqs good.jsonl";
        await s3.PutTextAsync(good, Lines(3, 200));
        await s3.PutTextAsync("incoming/text-direction/gone.jsonl", Lines(1, 300));
        var missing = await S3EventFor("incoming/text-direction/gone.jsonl");
        missing = missing.Replace("incoming/text-direction/gone.jsonl", "incoming/text-direction/deleted-before-scoring.jsonl", StringComparison.Ordinal);
        await using var host = await StartAsync();

        var doc = await host.InvokeJsonAsync(EventSamples.Sqs(EventSamples.S3TestEvent(S3rverHost.Bucket), await S3EventFor(good), missing));

        var failures = doc.GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()).ToList();
        Assert.Equal(["m2"], failures);
        var results = await s3.ListAsync("results/text-direction/sqs good.");
        Assert.Contains(results, k => k.EndsWith(".jsonl", StringComparison.Ordinal));
        Assert.Contains(host.Process.StandardError, l => l.Contains("m2", StringComparison.Ordinal) && l.Contains("deleted-before-scoring", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeadlineBeforeTheEnd_CheckpointsAndContinuesThroughMarkers_WithEveryLineScoredOnce()
    {
        const string key = "incoming/text-direction/long run.jsonl";
        const int count = 40;
        await s3.PutTextAsync(key, Lines(count, 400, badLine: 25));
        // Each invocation gets a 3 s timeout and keeps 2.9 s in reserve: about 0.1 s of scoring per call.
        await using var host = await StartAsync(new() { ["BATCH_DEADLINE_RESERVE_MS"] = "2900", ["BATCH_MAX_BATCH_SIZE"] = "4", ["BATCH_PART_BYTES"] = "4096" });
        await host.Emulator.FirstNextRequest.WaitAsync(TimeSpan.FromSeconds(60));

        var notification = await S3EventFor(key);
        var statuses = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            var doc = await host.InvokeJsonAsync(notification, TimeSpan.FromSeconds(3));
            var status = doc.GetProperty("files")[0].GetProperty("status").GetString()!;
            statuses.Add(status);
            if (status != "Incomplete")
            {
                break;
            }

            // S3 would now notify about the continuation marker the function just wrote.
            var marker = Assert.Single(await s3.ListAsync("incoming/text-direction/.continue/"));
            notification = await S3EventFor(marker);
        }

        Assert.Equal("Completed", statuses[^1]);
        Assert.True(statuses.Count >= 2, $"expected at least one continuation, got: {string.Join(", ", statuses)}");
        var summaryKey = (await s3.ListAsync("results/text-direction/long run.")).Single(k => k.EndsWith(".summary.json", StringComparison.Ordinal));
        var summary = JsonDocument.Parse(await s3.GetTextAsync(summaryKey)).RootElement;
        Assert.Equal(count, summary.GetProperty("lines").GetInt64());
        Assert.Equal(1, summary.GetProperty("failed").GetInt64());
        Assert.Equal(statuses.Count, summary.GetProperty("invocations").GetInt32());
        AssertOutputLines(await s3.GetTextAsync(summary.GetProperty("output").GetString()!), count, badLine: 25);
    }
}
