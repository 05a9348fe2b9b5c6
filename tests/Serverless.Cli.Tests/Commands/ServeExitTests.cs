using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Serverless.Cli.Commands;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Commands;

/// <summary>
/// <c>serve</c> leaves cleanly however early it leaves: a hundred child processes stopped at many points of
/// start-up (port in use, bad settings found before and after the catalog, SIGTERM after 0 to 600 ms, while
/// ONNX Runtime and OpenSSL may still be loading on another thread) exit with their documented code, and none
/// dies of a crash signal (SIGSEGV 139, SIGABRT 134, SIGBUS 135).
/// </summary>
public sealed class ServeExitTests
{
    private const int Runs = 100;

    [Fact]
    public async Task Serve_LeavingEarlyAHundredTimesAtManyPointsOfStartUp_NeverExitsByACrashSignal()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var busyPort = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        var outcomes = new ConcurrentBag<Outcome>();

        await Parallel.ForEachAsync(Enumerable.Range(0, Runs), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (run, _) =>
        {
            var outcome = (run % 4) switch
            {
                0 => await RunAsync("port in use", [ExitCodes.Usage], [], null, "serve", "--port", busyPort),
                1 => await RunAsync("bad MODEL_PRELOAD", [ExitCodes.Usage], new() { ["MODEL_PRELOAD"] = "no-such-model" }, null, "serve", "--port", "0"),
                2 => await RunAsync("bad SERVERLESS_LOG_LEVEL", [ExitCodes.Usage], new() { [ServeCommand.LogLevelVariable] = "loud" }, null, "serve", "--port", "0"),
                // A drained stop (0), a stop while starting (130), or SIGTERM's own default action when it lands
                // before the runtime installs its handler (143): all are how SIGTERM ends a process cleanly.
                _ => await RunAsync("SIGTERM", [ExitCodes.Success, ExitCodes.Interrupted, 128 + 15], [], TimeSpan.FromMilliseconds(run * 37 % 600), "serve", "--port", "0"),
            };
            outcomes.Add(outcome);
        });

        var unexpected = outcomes.Where(o => !o.Expected.Contains(o.ExitCode)).ToList();
        Assert.Equal(Runs, outcomes.Count);
        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected.Select(o => $"{o.Case} (SIGTERM after {o.SignalAfter?.TotalMilliseconds} ms): exit {o.ExitCode}, expected {string.Join(" or ", o.Expected)}; stderr: {o.Error}")));
    }

    private static async Task<Outcome> RunAsync(string name, int[] expected, Dictionary<string, string?> environment, TimeSpan? sigtermAfter, params string[] args)
    {
        var start = ServeProcess.StartInfo(args);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (sigtermAfter is { } delay)
        {
            await Task.Delay(delay);
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new Outcome(name, expected, -1, sigtermAfter, "did not exit within 60 s");
        }

        await stdout;
        return new Outcome(name, expected, process.ExitCode, sigtermAfter, await stderr);
    }

    private sealed record Outcome(string Case, int[] Expected, int ExitCode, TimeSpan? SignalAfter, string Error);
}
