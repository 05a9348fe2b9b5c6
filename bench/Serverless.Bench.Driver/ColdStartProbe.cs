using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Serverless.Bench.Driver;

/// <summary>
/// One cold start: exec to the first 200 OK of an infer request, exec to the moment the port first accepted
/// a connection (the rest is model load and the first request), the CPU time the process used until then
/// (less sensitive than wall time to a loaded machine's run queue), the peak RSS right after the response, and
/// how many 503 answers (a model still loading in the background) came before the 200.
/// </summary>
internal readonly record struct ColdStartSample(double Milliseconds, double AcceptMilliseconds, double CpuMilliseconds, long PeakRssKb, int Retries = 0);

/// <summary>
/// Measures cold start the way a platform experiences it: start the process, connect as soon as the port
/// accepts (polled every millisecond through the HTTP client's connect callback, so the first accepted
/// connection carries the request), send one infer request and stop the clock on the 200 OK. Each start
/// gets a fresh client, so nothing is reused between processes. If the infer answers 503 (a server that accepts
/// before its preloaded model is ready and says so), the probe polls the model's ready route every millisecond
/// on the same connection, as a platform's readiness check would (cheap for the server, unlike resending the
/// request body), then sends the infer again; the clock still stops at the first 200, and the 503s are counted.
/// </summary>
internal static class ColdStartProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<ColdStartSample> MeasureAsync(ServerCommand command, Payloads payload, string expectedOutput)
    {
        var port = ServerProcess.FreePort();
        var server = ServerProcess.Start(command, port);
        await using (server.ConfigureAwait(false))
        {
            var accepted = 0L;
            using var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var stream = await ConnectWhenAcceptingAsync(server, context, ct).ConfigureAwait(false);
                    accepted = Stopwatch.GetTimestamp();
                    return stream;
                },
            };
            using var client = new HttpClient(handler) { Timeout = Timeout, BaseAddress = server.BaseAddress };
            var uri = new Uri(payload.InferPath, UriKind.Relative);
            var retries = 0;
            while (true)
            {
                using var content = new ByteArrayContent(payload.Json);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync(uri, content).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(server.StartTimestamp).TotalMilliseconds;
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && !server.HasExited && elapsed < Timeout.TotalMilliseconds)
                {
                    retries++;
                    var ready = new Uri(payload.InferPath[..^"/infer".Length] + "/ready", UriKind.Relative);
                    while (!server.HasExited && Stopwatch.GetElapsedTime(server.StartTimestamp) < Timeout)
                    {
                        using var probe = await client.GetAsync(ready).ConfigureAwait(false);
                        if (probe.StatusCode != HttpStatusCode.ServiceUnavailable)
                        {
                            break;
                        }

                        retries++;
                        await Task.Delay(1).ConfigureAwait(false);
                    }

                    continue;
                }

                var rss = server.PeakRssKb();
                var cpu = server.CpuMilliseconds();
                if (response.StatusCode != HttpStatusCode.OK || !body.Contains(expectedOutput, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{command.Name}: the first infer answered {(int)response.StatusCode}: {Truncate(body)}\n{server.Tail()}");
                }

                return new ColdStartSample(elapsed, Stopwatch.GetElapsedTime(server.StartTimestamp, accepted).TotalMilliseconds, cpu, rss, retries);
            }
        }
    }

    /// <summary>Exec to exit of a command that starts the runtime and does nothing (the floor under any cold start).</summary>
    public static async Task<double> RuntimeFloorAsync(string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await Task.WhenAll(output, error).ConfigureAwait(false);
        return process.ExitCode == 0 ? elapsed : throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error.ConfigureAwait(false)}");
    }

    private static async ValueTask<Stream> ConnectWhenAcceptingAsync(ServerProcess server, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port);
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
                socket.Dispose();
                if (server.HasExited)
                {
                    throw new InvalidOperationException($"The server exited before it listened:\n{server.Tail()}", ex);
                }

                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    internal static string Truncate(string text) => text.Length <= 400 ? text : text[..400] + "...";
}
