using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Serverless.Azure.Tests.Fixtures;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Azure.Tests.EndToEnd;

/// <summary>
/// Cold start of the Azure deployable, measured the way the Functions host experiences it: process start to
/// the first text-direction infer answered, from an empty model cache, the model read from Azurite. The
/// isolated worker (SERVERLESS_AZURE_APP) is driven through <see cref="FunctionsHostRpc"/> (gRPC init, metadata,
/// load, then the invocation); the custom handler it replaces (SERVERLESS_AZURE_OLD_APP, an app folder with the
/// `serverless-azure` executable) is started with FUNCTIONS_CUSTOMHANDLER_PORT and sent the forwarded request.
/// Rounds alternate the two so load drift on a shared machine hits both alike. Printed, not asserted beyond
/// correctness; opt in with SERVERLESS_MEASURE=1 (SERVERLESS_MEASURE_ROUNDS, default 10).
/// </summary>
[Trait("Category", "Measure")]
public sealed class ColdStartMeasurements(FunctionAppFixture app, ITestOutputHelper output) : IClassFixture<FunctionAppFixture>
{
    [AzureMeasureFact]
    public async Task ColdStart_IsolatedWorkerAgainstTheCustomHandler_StartToFirstInfer()
    {
        var worker = Environment.GetEnvironmentVariable("SERVERLESS_AZURE_APP") ?? throw new InvalidOperationException("Set SERVERLESS_AZURE_APP to the packaged app folder (./build.sh package-azure).");
        var handler = Environment.GetEnvironmentVariable("SERVERLESS_AZURE_OLD_APP") ?? throw new InvalidOperationException("Set SERVERLESS_AZURE_OLD_APP to the custom handler's app folder.");
        var rounds = int.Parse(Environment.GetEnvironmentVariable("SERVERLESS_MEASURE_ROUNDS") ?? "10", CultureInfo.InvariantCulture);
        var body = InferRequests.Json(1);
        var isolated = new List<double>();
        var custom = new List<double>();
        for (var round = 0; round < rounds + 1; round++)
        {
            // Round 0 warms the OS file cache for both and is not counted.
            var a = await CustomHandlerOnceAsync(handler, body);
            var b = await IsolatedWorkerOnceAsync(worker, body);
            if (round > 0)
            {
                custom.Add(a);
                isolated.Add(b);
            }
        }

        Report("custom handler (self-contained R2R)", custom);
        Report("isolated worker (framework-dependent R2R, via gRPC host)", isolated);
    }

    private async Task<double> IsolatedWorkerOnceAsync(string folder, string body)
    {
        await using var host = await FunctionsHostRpc.StartAsync();
        var clock = Stopwatch.StartNew();
        await using var worker = PublishedWorker.Start(folder, host.Uri, Settings());
        var session = await WorkerSession.OpenAsync(host, folder);
        await session.LoadAllAsync();
        using var client = new HttpClient();
        var (http, _) = await session.InvokeHttpAsync(client, "protocol", HttpMethod.Post, "/v2/models/text-direction/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        var answer = await http.Content.ReadAsStringAsync();
        var ms = clock.Elapsed.TotalMilliseconds;
        Assert.True(http.IsSuccessStatusCode, answer);
        return ms;
    }

    private async Task<double> CustomHandlerOnceAsync(string folder, string body)
    {
        var port = LoopbackPort.Free();
        var start = new ProcessStartInfo(Path.Combine(folder, "serverless-azure")) { WorkingDirectory = folder, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in Settings())
        {
            start.Environment[name] = value;
        }

        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // The host polls the handler's port until it accepts, then forwards the request.
            while (true)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync("127.0.0.1", port);
                    break;
                }
                catch (SocketException) when (!process.HasExited)
                {
                    await Task.Delay(5);
                }
            }

            using var client = new HttpClient();
            using var http = await client.PostAsync(new Uri($"http://127.0.0.1:{port}/v2/models/text-direction/infer"), new StringContent(body, Encoding.UTF8, "application/json"));
            var answer = await http.Content.ReadAsStringAsync();
            var ms = clock.Elapsed.TotalMilliseconds;
            Assert.True(http.IsSuccessStatusCode, answer);
            return ms;
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The same settings for both, each start with its own empty model cache.</summary>
    private Dictionary<string, string> Settings() => new()
    {
        ["AzureWebJobsStorage"] = app.Azurite.ConnectionString,
        ["MODEL_STORE"] = $"azblob://{FunctionAppFixture.ModelContainer}/store",
        ["MODEL_CACHE_DIR"] = app.Environment().GetVariable("MODEL_CACHE_DIR")!,
        ["SERVERLESS_MODELS_DIR"] = RepoPaths.Models,
    };

    private void Report(string name, List<double> ms)
    {
        var sorted = ms.Order().ToArray();
        string P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)].ToString("F0", CultureInfo.InvariantCulture);
        var line = $"[azure-cold-start] {name}: n={sorted.Length} p50={P(0.5)} ms p90={P(0.9)} ms max={sorted[^1]:F0} ms min={sorted[0]:F0} ms";
        output.WriteLine(line);
        Console.WriteLine(line);
    }
}

/// <summary>A fact that runs only when SERVERLESS_MEASURE=1, so measurements stay out of the normal test run.</summary>
public sealed class AzureMeasureFactAttribute : FactAttribute
{
    public AzureMeasureFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("SERVERLESS_MEASURE") != "1")
        {
            Skip = "measurement: set SERVERLESS_MEASURE=1 to run";
        }
    }
}
