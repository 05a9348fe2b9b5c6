using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Cli.Tests.EndToEnd;

/// <summary>
/// The built CLI as a child process: first request after start-up (timed, with peak memory), parity with
/// the reference binding across process boundaries, and a graceful exit on SIGTERM.
/// </summary>
public sealed class ServeProcessTests
{
    private readonly ITestOutputHelper _output;

    public ServeProcessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Serve_AsChildProcess_AnswersFirstTextDirectionRequestLikeNodeAndExitsCleanlyOnSigterm()
    {
        var request = InferRequests.TextDirection(seed: 11);
        var serve = await ServeProcess.StartAsync();
        await using (serve)
        {
            var listening = Stopwatch.GetElapsedTime(serve.StartedAt);
            using var client = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            using var response = await client.PostAsync("/v2/models/text-direction/infer", new StringContent(request, Encoding.UTF8, "application/json"));
            var firstResponse = Stopwatch.GetElapsedTime(serve.StartedAt);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {body}\n{serve.Output}");
            var peakRss = serve.PeakRssKib();

            // The figures the closing note quotes: printed, never asserted (the machine is shared).
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"serve child process: listening after {listening.TotalMilliseconds:F0} ms, first text-direction response after {firstResponse.TotalMilliseconds:F0} ms, peak RSS (VmHWM) {peakRss / 1024.0:F1} MiB"));

            var reference = await ReferenceBinding.InferAsync(RepoPaths.ModelFile("text-direction"), request);
            var diffs = OutputComparison.MaxAbsDiffByOutput(body, reference);
            Assert.All(diffs, d => Assert.True(d.Value <= ModelParityTests.Tolerance, $"{d.Key}: {d.Value}"));

            var exitCode = await serve.TerminateAsync(TimeSpan.FromSeconds(20));
            Assert.True(exitCode == 0, $"exit code {exitCode}:\n{serve.Output}");

            // Logged asynchronously, so only certain once the process has exited.
            Assert.Contains("POST /v2/models/text-direction/infer 200", serve.Output);
            Assert.Contains("Shutting down", serve.Output);
        }
    }
}
