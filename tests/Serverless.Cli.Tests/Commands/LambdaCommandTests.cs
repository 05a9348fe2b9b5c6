using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Cli.Commands;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Commands;

/// <summary>
/// <c>serverless lambda</c>: the real Lambda bootstrap (bootstrap.dll next to the tests) behind the loopback
/// Runtime API emulator and its HTTP API 2.0 front door, driven over real HTTP.
/// </summary>
public sealed class LambdaCommandTests
{
    private static string Bootstrap => Path.Combine(AppContext.BaseDirectory, "bootstrap.dll");

    [Fact]
    public async Task Lambda_WithoutAPackagedBootstrap_ExitsWithCode2AndSaysToPackage()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "bootstrap");
        var run = await CliRun.RunAsync(["lambda", "--model", "text-direction", "--bootstrap", missing]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("./build.sh package", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Fact]
    public async Task Lambda_WithATimeoutOverLambdasLimit_ExitsWithCode2()
    {
        var run = await CliRun.RunAsync(["lambda", "--model", "text-direction", "--bootstrap", Bootstrap, "--timeout", "901"]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("--timeout", run.Error);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("65536")]
    public async Task Lambda_WithAPortOutOfRange_ExitsWithCode2NamingTheOption(string port)
    {
        var run = await CliRun.RunAsync(["lambda", "--model", "text-direction", "--bootstrap", Bootstrap, "--port", port]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("--port", run.Error);
        Assert.Contains(port, run.Error);
    }

    [Fact]
    public async Task Lambda_ServesItsModelAndRefusesOthers_ThroughTheRealBootstrap()
    {
        TestEnvironment.EnsureOrtLibrary();
        var port = LoopbackPort.Free();
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        string[] args = ["lambda", "--model", "text-direction", "--bootstrap", Bootstrap, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. CliRun.RepoModels];
        var running = CliApp.RunAsync(args, new CliConsole(TextWriter.Synchronized(output), TextWriter.Synchronized(error), isTerminal: false), stop.Token);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
            await WaitForFrontDoorAsync(http, running);

            using var body = new StringContent(InferRequests.TextDirection(), Encoding.UTF8, "application/json");
            using var infer = await http.PostAsync("v2/models/text-direction/infer", body);
            var json = await infer.Content.ReadAsStringAsync();
            Assert.True(infer.StatusCode == HttpStatusCode.OK, json);
            using var doc = JsonDocument.Parse(json);
            var probabilities = doc.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(2, probabilities.Length);
            Assert.Equal(1.0, probabilities.Sum(), 4);

            using var other = await http.GetAsync("v2/models/text-detection");
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
            Assert.Contains("text-direction", await other.Content.ReadAsStringAsync());
        }
        finally
        {
            await stop.CancelAsync();
            var code = await running;
            Assert.True(code == ExitCodes.Success, $"exit {code}\n{output}\n{error}");
        }
    }

    [Fact]
    public async Task Lambda_WhenTheBootstrapsInitFails_ExitsAtOnceWithTheInitErrorInsteadOfListening()
    {
        // MODEL_NAME names no model in the catalog: the real bootstrap's init fails and posts /runtime/init/error.
        TestEnvironment.EnsureOrtLibrary();
        var port = LoopbackPort.Free();
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        string[] args = ["lambda", "--model", "no-such-model", "--bootstrap", Bootstrap, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. CliRun.RepoModels];
        var started = System.Diagnostics.Stopwatch.StartNew();

        var code = await CliApp.RunAsync(args, new CliConsole(TextWriter.Synchronized(output), TextWriter.Synchronized(error), isTerminal: false), stop.Token);

        Assert.Equal(ExitCodes.Failure, code);
        Assert.False(stop.IsCancellationRequested, "the command only ended when the test gave up on it");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"took {started.Elapsed}");
        var text = error.ToString();
        Assert.Contains("failed its init", text);
        Assert.Contains("exited with code 1", text);
        Assert.Contains("MODEL_NAME", text);
        Assert.Contains("no-such-model", text);
        Assert.Contains("\"errorType\"", text);
        Assert.DoesNotContain("Listening on", output.ToString());
    }

    private static async Task WaitForFrontDoorAsync(HttpClient http, Task<int> running)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (running.IsCompleted)
            {
                Assert.Fail($"lambda exited early with {await running}");
            }

            try
            {
                using var live = await http.GetAsync("v2/health/live");
                if (live.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        Assert.Fail("the lambda front door did not answer within 60 s");
    }
}
