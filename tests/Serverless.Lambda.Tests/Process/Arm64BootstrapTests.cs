using System.Text.Json;
using Serverless.Lambda.Tests.Batch;
using Serverless.Lambda.Tests.Events;

namespace Serverless.Lambda.Tests.Process;

/// <summary>
/// Smoke test of the shipped arm64 package: the Native AOT bootstrap and the arm64 libonnxruntime.so from
/// artifacts/lambda/arm64, run under qemu-user against the same loopback Runtime API as the x86-64 tests. One
/// process (emulation is slow to start) takes an HTTP API event, an event it cannot handle, and an S3 batch event.
/// </summary>
public sealed class Arm64BootstrapTests(S3rverHost s3) : IClassFixture<S3rverHost>
{
    private static readonly TimeSpan Slow = TimeSpan.FromMinutes(2);

    [Arm64Fact]
    public async Task Arm64Bootstrap_UnderQemu_AnswersHttpReportsABadEventAndScoresAnS3Batch()
    {
        const string key = "incoming/text-direction/arm64.jsonl";
        var lines = string.Join("\n", Enumerable.Range(0, 3).Select(i => InferRequests.Json(40 + i, $"line-{i}", width: 48))) + "\n";
        await s3.PutTextAsync(key, lines);
        var env = s3.Environment;
        env["MODEL_PRELOAD"] = null; // the first HTTP event loads the model, as on a new sandbox
        env["BATCH_MODELS"] = "text-direction";
        await using var host = await BootstrapHost.StartAsync(Arm64FactAttribute.BootstrapPath, Arm64FactAttribute.Launcher, env);

        var http = await host.InvokeJsonAsync(EventSamples.HttpApiV2("POST", "/prod/v2/models/text-direction/infer", InferRequests.Json(1, "arm")), Slow);
        Assert.Equal(200, http.GetProperty("statusCode").GetInt32());
        var body = JsonDocument.Parse(http.GetProperty("body").GetString()!).RootElement;
        Assert.Equal("arm", body.GetProperty("id").GetString());
        var p = body.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(2, p.Length);
        Assert.InRange(p[0] + p[1], 0.999f, 1.001f);

        var bad = await host.InvokeAsync("{\"not\":\"an event this function knows\"}", Slow);
        Assert.True(bad.IsError, bad.BodyText);
        Assert.Contains("Unrecognized event", bad.BodyText);

        var properties = await s3.Store.GetPropertiesAsync(key, default);
        var batch = await host.InvokeJsonAsync(EventSamples.S3Put(S3rverHost.Bucket, key, properties!.ETag!.Trim('"'), properties.Size), Slow);
        var file = batch.GetProperty("files")[0];
        Assert.Equal("Completed", file.GetProperty("status").GetString());
        Assert.Equal(3, file.GetProperty("lines").GetInt64());
        Assert.Equal(0, file.GetProperty("failed").GetInt64());
        var output = await s3.GetTextAsync(file.GetProperty("output").GetString()!);
        Assert.Equal(3, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.False(host.Process.Exited.IsCompleted, "the bootstrap exited: " + string.Join('\n', host.Process.StandardError));
    }
}
