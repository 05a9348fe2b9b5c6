using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Bench.Driver;

/// <summary>
/// <c>--overload</c>: can idle or slow clients lock a normal client out of <c>serve</c>? Against one published server
/// it measures, in order:
/// - a normal client alone: text-direction JSON infers, one at a time, each on a new connection (what a new client
///   pays), timed from connect to the last response byte;
/// - the same client while 1,500 sockets sit idle (connected, never a byte) and 200 more send a request head one
///   byte every 100 ms, reconnecting when dropped: its p50, p99, worst, and every failure;
/// - how long the server takes to drop an idle socket (the flood's, and one opened on its own afterwards);
/// - 64 clients at once, each over its own keep-alive connection: p50, p99 and worst latency.
/// Figures, not assertions: the test suite checks the property (every normal request succeeds during the flood).
/// </summary>
internal static class OverloadProbe
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        string Need(string name) => values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--overload needs --{name}.");
        int Number(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var idleCount = Number("idle", 1500);
        var slowCount = Number("slow", 200);
        var requests = Number("requests", 200);
        var concurrency = Number("concurrency", 64);
        var perClient = Number("per-client", 20);
        var label = values.GetValueOrDefault("label", "serve");

        var environment = new Dictionary<string, string?>
        {
            ["MODEL_STORE"] = "file://" + Need("store"),
            ["SERVERLESS_MODELS_DIR"] = Need("models"),
            ["MODEL_CACHE_DIR"] = Need("cache-dir"),
            ["SERVERLESS_ORT_LIBRARY"] = null,
            ["MODEL_PRELOAD"] = null,
        };
        foreach (var pair in values.GetValueOrDefault("env", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            environment[pair[..at]] = pair[(at + 1)..];
        }

        var command = new ServerCommand(label, Need("server"), ["serve", "--port", "{port}"], environment);
        var payload = Payloads.Create("text-direction", "x", [1, 3, 48, 192], seed: 7);
        var port = ServerProcess.FreePort();
        var server = ServerProcess.Start(command, port);
        await using (server)
        {
            await WaitForPortAsync(port, server);
            var infer = RawHttpConnection.BuildRequest("POST", payload.InferPath, port, "application/json", payload.Json);
            for (var i = 0; i < 5; i++)
            {
                _ = NewClientRequest(port, infer);
            }

            Console.WriteLine($"{label}: normal client alone, {requests} requests");
            var (quiet, quietFailures) = NormalClient(port, infer, requests);

            Console.WriteLine($"{label}: {idleCount} idle sockets and {slowCount} slow heads, normal client {requests} requests");
            var idle = new List<(Socket Socket, long OpenedAt)>(idleCount);
            var refusedConnects = 0;
            for (var i = 0; i < idleCount; i++)
            {
                try
                {
                    idle.Add((Connect(port), Stopwatch.GetTimestamp()));
                }
                catch (SocketException)
                {
                    refusedConnects++;
                }
            }

            using var stopFlood = new CancellationTokenSource();
            var flood = new Thread(() => SlowHeads(port, slowCount, stopFlood.Token)) { IsBackground = true };
            flood.Start();
            var (flooded, floodFailures) = NormalClient(port, infer, requests);
            stopFlood.Cancel();
            flood.Join();

            var drops = IdleDropTimes(idle, Patience);
            foreach (var (socket, _) in idle)
            {
                socket.Dispose();
            }

            var single = IdleDropTimes([(Connect(port), Stopwatch.GetTimestamp())], Patience);

            Console.WriteLine($"{label}: {concurrency} concurrent clients x {perClient} requests");
            var (concurrent, concurrentFailures) = Concurrent(port, infer, concurrency, perClient);

            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {Ms(quiet)} | {Ms(flooded)} | {floodFailures.Count} of {requests} (alone: {quietFailures.Count}) | " +
                $"{DropText(drops, idle.Count)} | {DropText(single, 1)} | {Ms(concurrent)} | {concurrentFailures.Count} of {concurrency * perClient} | {refusedConnects} |");
            foreach (var failure in floodFailures.Concat(concurrentFailures).Take(10))
            {
                Console.WriteLine($"  failure: {failure}");
            }

            Console.Write(text);
            if (values.TryGetValue("out", out var output))
            {
                await File.AppendAllTextAsync(output, text.ToString());
            }
        }

        return 0;
    }

    private static (Stats Stats, List<string> Failures) NormalClient(int port, byte[] request, int count)
    {
        var times = new List<double>(count);
        var failures = new List<string>();
        for (var i = 0; i < count; i++)
        {
            try
            {
                var (status, ms) = NewClientRequest(port, request);
                times.Add(ms);
                if (status != 200)
                {
                    failures.Add($"#{i}: HTTP {status}");
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException or TimeoutException)
            {
                failures.Add($"#{i}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        return (times.Count == 0 ? default : Stats.Of(times), failures);
    }

    /// <summary>A request as a new client sends it: connect, send, read the whole answer; milliseconds include the connect.</summary>
    private static (int Status, double Milliseconds) NewClientRequest(int port, byte[] request)
    {
        var started = Stopwatch.GetTimestamp();
        using var connection = RawHttpConnection.Connect(port, Patience);
        var (status, _) = connection.Time(request);
        return (status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static (Stats Stats, List<string> Failures) Concurrent(int port, byte[] request, int clients, int perClient)
    {
        var times = new double[clients * perClient];
        var failures = new List<string>();
        using var start = new Barrier(clients);
        var threads = Enumerable.Range(0, clients).Select(c => new Thread(() =>
        {
            try
            {
                using var connection = RawHttpConnection.Connect(port, Patience);
                start.SignalAndWait();
                for (var i = 0; i < perClient; i++)
                {
                    var (status, ms) = connection.Time(request);
                    times[(c * perClient) + i] = ms;
                    if (status != 200)
                    {
                        lock (failures)
                        {
                            failures.Add($"client {c} #{i}: HTTP {status}");
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException or TimeoutException)
            {
                lock (failures)
                {
                    failures.Add($"client {c}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return (Stats.Of(times.Where(t => t > 0).ToList()), failures);
    }

    /// <summary>Keeps <paramref name="count"/> connections sending a request head one byte every 100 ms, replacing each one the server drops.</summary>
    private static void SlowHeads(int port, int count, CancellationToken stop)
    {
        var head = Encoding.ASCII.GetBytes("GET /v2/health/live HTTP/1.1\r\nHost: flood\r\nX-Slow: " + new string('a', 8000));
        var sockets = new Socket?[count];
        var sent = new int[count];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < count; i++)
                {
                    try
                    {
                        if (sockets[i] is not { } socket || sent[i] == head.Length || socket.Send(head, sent[i], 1, SocketFlags.None) != 1)
                        {
                            sockets[i]?.Dispose();
                            sockets[i] = Connect(port);
                            sent[i] = 0;
                            continue;
                        }

                        sent[i]++;
                    }
                    catch (SocketException)
                    {
                        sockets[i]?.Dispose();
                        sockets[i] = null;
                    }
                }

                stop.WaitHandle.WaitOne(100);
            }
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    /// <summary>Seconds from each socket's connect until the server closed it; null for those still open after <paramref name="patience"/>.</summary>
    private static List<double?> IdleDropTimes(IReadOnlyList<(Socket Socket, long OpenedAt)> sockets, TimeSpan patience)
    {
        var drops = new double?[sockets.Count];
        var scratch = new byte[4096];
        var watch = Stopwatch.StartNew();
        var open = sockets.Count;
        while (open > 0 && watch.Elapsed < patience)
        {
            for (var i = 0; i < sockets.Count; i++)
            {
                if (drops[i] is not null)
                {
                    continue;
                }

                var (socket, openedAt) = sockets[i];
                try
                {
                    if (socket.Poll(0, SelectMode.SelectRead) && socket.Receive(scratch) == 0)
                    {
                        drops[i] = Stopwatch.GetElapsedTime(openedAt).TotalSeconds;
                        open--;
                    }
                }
                catch (SocketException)
                {
                    drops[i] = Stopwatch.GetElapsedTime(openedAt).TotalSeconds;
                    open--;
                }
            }

            Thread.Sleep(50);
        }

        return [.. drops];
    }

    private static string DropText(List<double?> drops, int count)
    {
        var dropped = drops.Where(d => d is not null).Select(d => d!.Value).OrderBy(d => d).ToArray();
        if (dropped.Length == 0)
        {
            return $"none of {count} within {Patience.TotalSeconds:F0} s";
        }

        var median = dropped[dropped.Length / 2];
        var still = count - dropped.Length;
        return count == 1
            ? $"{median:F1} s"
            : $"{median:F1} s / {dropped[^1]:F1} s" + (still > 0 ? $" ({still} still open after {Patience.TotalSeconds:F0} s)" : "");
    }

    private static string Ms(Stats stats) => stats.Count == 0 ? "no answers" : $"{stats.Median:F1} / {stats.P99:F1} / {stats.Max:F1}";

    private static Socket Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task WaitForPortAsync(int port, ServerProcess server)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var socket = Connect(port);
                return;
            }
            catch (SocketException) when (!server.HasExited && deadline.Elapsed < Patience)
            {
                await Task.Delay(10);
            }
        }
    }
}
