using System.Diagnostics;
using System.Text.Json;
using Serverless.Lambda.Emulator;
using Serverless.Lambda.Tests.Batch;
using Serverless.Lambda.Tests.Events;
using Serverless.Lambda.Tests.Process;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Lambda.Tests.Measurements;

/// <summary>Cold start and batch throughput figures through the local emulation (printed, not asserted).</summary>
[Trait("Category", "Measure")]
public sealed class LambdaMeasurements(ITestOutputHelper output, S3rverHost s3) : IClassFixture<S3rverHost>
{
    [MeasureFact]
    public async Task ColdStart_MedianOverTenStarts_SplitIntoInitAndFirstInvoke()
    {
        var payload = EventSamples.HttpApiV2("POST", "/prod/v2/models/text-direction/infer", InferRequests.Json(1));
        output.WriteLine($"bootstrap: {BootstrapHost.BootstrapPath}");
        foreach (var preload in new[] { "1", "0" })
        {
            var cache = Directory.CreateTempSubdirectory("lambda-cold-").FullName;
            var env = BootstrapHost.FunctionEnvironment(cache, new Dictionary<string, string?> { ["MODEL_PRELOAD"] = preload });
            await ColdStartDriver.MeasureAsync(BootstrapHost.BootstrapPath, env, payload, 1); // warm the OS file cache once
            var samples = await ColdStartDriver.MeasureAsync(BootstrapHost.BootstrapPath, env, payload, 10);
            output.WriteLine($"MODEL_PRELOAD={preload}: init median {Ms(ColdStartDriver.Median(samples, s => s.Init))}, first invoke median {Ms(ColdStartDriver.Median(samples, s => s.FirstInvoke))}, " +
                $"exec-to-first-response median {Ms(ColdStartDriver.Median(samples, s => s.Total))} (min {Ms(samples.Min(s => s.Total))}, max {Ms(samples.Max(s => s.Total))}), peak RSS {samples.Max(s => s.PeakResidentBytes) / 1048576.0:F0} MB");
            Directory.Delete(cache, recursive: true);
        }
    }

    [MeasureFact]
    public async Task BatchThroughput_TenThousandTextDirectionLinesFromS3rver()
    {
        const int lines = 10_000;
        const string key = "incoming/text-direction/throughput.jsonl";
        var bytes = BatchThroughputFile.TextDirection(lines);
        await s3.Store.PutAsync(key, new MemoryStream(bytes), "application/x-ndjson", default);
        var env = s3.Environment;
        env["MODEL_NAME"] = null;
        env["MODEL_PRELOAD"] = "text-direction";
        env["BATCH_MODELS"] = "text-direction";
        await using var host = await BootstrapHost.StartAsync(env);
        await host.Emulator.FirstNextRequest.WaitAsync(TimeSpan.FromMinutes(2));
        var properties = await s3.Store.GetPropertiesAsync(key, default);
        var clock = Stopwatch.StartNew();
        var doc = await host.InvokeJsonAsync(EventSamples.S3Put(S3rverHost.Bucket, "incoming/text-direction/throughput.jsonl", properties!.ETag!.Trim('"'), bytes.Length), TimeSpan.FromMinutes(15));
        var elapsed = clock.Elapsed;
        var file0 = doc.GetProperty("files")[0];
        Assert.Equal("Completed", file0.GetProperty("status").GetString());
        Assert.Equal(lines, file0.GetProperty("lines").GetInt64());
        var summaryKey = file0.GetProperty("output").GetString()![..^".jsonl".Length] + ".summary.json";
        var summary = JsonDocument.Parse(await s3.GetTextAsync(summaryKey)).RootElement;
        output.WriteLine($"input {bytes.Length / 1048576.0:F0} MB, {lines} lines: invocation {elapsed.TotalSeconds:F1} s, {lines / elapsed.TotalSeconds:F0} records/s end to end; " +
            $"scoring {summary.GetProperty("scoringMilliseconds").GetDouble() / 1000:F1} s ({summary.GetProperty("recordsPerSecond").GetDouble():F0} records/s); " +
            $"failed {summary.GetProperty("failed").GetInt64()}; output {summary.GetProperty("outputBytes").GetInt64() / 1048576.0:F1} MB; " +
            $"bootstrap peak RSS {host.Process.ReadPeakResidentBytes() / 1048576.0:F0} MB");
    }

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:F0} ms";
}
