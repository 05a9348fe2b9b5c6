using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Serverless.Cli.Hosting;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// SERVERLESS_STARTUP_TRACE: the serve child process prints every start-up phase, in order, with times since
/// exec that only grow, when asked; and not one trace line otherwise. Plus the parsing it relies on.
/// </summary>
public sealed partial class StartupTraceTests
{
    private static readonly string[] Phases =
    [
        "main entered",
        "command line parsed",
        "serve command started",
        "kestrel listening",
        "serving components created",
        "banner printed",
        "first request received",
        "model 'text-direction': load started",
        "model 'text-direction': artifact verified",
        "model 'text-direction': session created",
        "first response sent (200)",
    ];

    [Fact]
    public async Task Trace_On_PrintsEveryPhaseWithGrowingTimesSinceExec()
    {
        var output = await ServeOneRequestAsync(traceValue: "1");

        var lines = TraceLine().Matches(output).Select(m => (Ms: double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Phase: m.Groups[2].Value)).ToList();
        foreach (var phase in Phases)
        {
            Assert.True(lines.Any(l => l.Phase.Contains(phase, StringComparison.Ordinal)), $"no trace line for '{phase}' in:\n{output}");
        }

        // ONNX Runtime is loaded either in the background or by the first session, and said once.
        Assert.Single(lines, l => l.Phase.StartsWith("ONNX Runtime 1.", StringComparison.Ordinal));

        // One clock: each line's time is at least the one before, and the whole start is positive and finite.
        Assert.True(lines[0].Ms > 0 && lines[0].Ms < 60_000, $"main entered at {lines[0].Ms} ms since exec");
        for (var i = 1; i < lines.Count; i++)
        {
            Assert.True(lines[i].Ms >= lines[i - 1].Ms, $"'{lines[i].Phase}' at {lines[i].Ms} ms comes before '{lines[i - 1].Phase}' at {lines[i - 1].Ms} ms");
        }

        Assert.True(Index(lines, "first request received") < Index(lines, "first response sent"));
        Assert.True(Index(lines, "main entered") < Index(lines, "kestrel listening"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    [InlineData("false")]
    public async Task Trace_OffOrUnset_PrintsNothing(string? traceValue)
    {
        var output = await ServeOneRequestAsync(traceValue);

        Assert.DoesNotContain("startup:", output);
        Assert.Contains("POST /v2/models/text-direction/infer 200", output);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData(" true ", true)]
    [InlineData("ON", true)]
    [InlineData("yes", true)]
    [InlineData("0", false)]
    [InlineData("", false)]
    [InlineData("no", false)]
    [InlineData("2", false)]
    [InlineData(null, false)]
    public void IsOn_AcceptsOnlyTheDocumentedSpellings(string? value, bool expected) =>
        Assert.Equal(expected, StartupTrace.IsOn(value));

    [Fact]
    public void ParseStartTimeTicks_ReadsField22EvenWhenTheCommandNameHoldsSpacesAndParentheses()
    {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itreal starttime ...
        const string stat = "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 7 0 987654 123456789 2000 ...";

        Assert.Equal(987654, StartupTrace.ParseStartTimeTicks(stat));
    }

    [Theory]
    [InlineData("4242 no parenthesis S 1 2 3")]
    [InlineData("4242 (short) S 1 2 3")]
    [InlineData("4242 (bad) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 7 0 notanumber 1 2")]
    public void ParseStartTimeTicks_MalformedStat_ThrowsFormatException(string stat) =>
        Assert.Throws<FormatException>(() => StartupTrace.ParseStartTimeTicks(stat));

    [Fact]
    public void SinceExecMilliseconds_InThisProcess_IsPositiveAndBelowTheProcessAge()
    {
        var since = StartupTrace.SinceExecMilliseconds();
        var age = (DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime).TotalMilliseconds;

        Assert.True(since > 0, $"{since} ms");

        // Process.StartTime has a coarser clock (boot time in whole seconds), so allow it a little over a second.
        Assert.True(Math.Abs(since - age) < 1_500, $"since exec {since:F0} ms, process age {age:F0} ms");
    }

    private static int Index(List<(double Ms, string Phase)> lines, string phase) =>
        lines.FindIndex(l => l.Phase.Contains(phase, StringComparison.Ordinal));

    private static async Task<string> ServeOneRequestAsync(string? traceValue)
    {
        var serve = await ServeProcess.StartAsync(new Dictionary<string, string?> { [StartupTrace.Variable] = traceValue }, null);
        await using (serve)
        {
            using var client = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            using var response = await client.PostAsync("/v2/models/text-direction/infer", new StringContent(InferRequests.TextDirection(), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(0, await serve.TerminateAsync(TimeSpan.FromSeconds(20)));
            return serve.Output;
        }
    }

    [GeneratedRegex(@"^startup: +([0-9.]+) ms since exec +\(\+[0-9.]+\) +\[\d+\] (.+)$", RegexOptions.Multiline)]
    private static partial Regex TraceLine();
}
