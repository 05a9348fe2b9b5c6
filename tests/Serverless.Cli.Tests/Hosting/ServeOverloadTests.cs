using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// No lockout: connections that send nothing, or a head a byte at a time, are dropped within seconds, and a
/// flood of them (1,500 idle sockets and a slow-head flood) leaves serve answering a normal client. serve runs
/// as the built CLI in its own process, so the flood and the server do not share a file limit. Bounds are
/// generous (timed tests are not benchmarks; bench/overload.sh measures the latencies); the property asserted
/// is that every normal request succeeds.
/// </summary>
public sealed class ServeOverloadTests : IClassFixture<ServeProcessFixture>
{
    private const int IdleConnections = 1_500;
    private const int SlowHeadConnections = 100;

    /// <summary>serve's keep-alive and request-head timeouts are a few seconds; this is the most a drop may take here.</summary>
    private static readonly TimeSpan DropBound = TimeSpan.FromSeconds(20);

    private readonly ServeProcessFixture _serve;

    public ServeOverloadTests(ServeProcessFixture serve)
    {
        _serve = serve;
    }

    [Fact]
    public void IdleConnectionThatNeverSendsAByte_IsClosedWithinAFewSeconds()
    {
        using var client = RawClient.Connect(_serve.BaseAddress);
        var watch = Stopwatch.StartNew();

        Assert.True(client.ClosedByServer(DropBound), $"an idle connection was still open after {DropBound.TotalSeconds} s");
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), $"closed after {watch.ElapsedMilliseconds} ms: before any timeout could have passed");
    }

    [Fact]
    public void HeadSentAByteAtATime_IsCutOffWithinAFewSeconds()
    {
        using var client = RawClient.Connect(_serve.BaseAddress);
        var head = Encoding.ASCII.GetBytes("GET /v2/health/live HTTP/1.1\r\nHost: test\r\nX-Slow: " + new string('a', 200));
        var watch = Stopwatch.StartNew();
        var cutOff = false;
        for (var i = 0; i < head.Length && watch.Elapsed < DropBound && !cutOff; i++)
        {
            cutOff = !TrySend(client.Socket, head.AsSpan(i, 1));
            Thread.Sleep(250);
        }

        // Kestrel may answer 408 before it closes; either way no request is ever served on this connection.
        cutOff = cutOff || ClosedAfterAnyReply(client.Socket, DropBound - watch.Elapsed);
        Assert.True(cutOff, $"a slow head was still being read after {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task IdleAndSlowHeadFlood_NormalClientKeepsGettingAnswers_AndTheIdleSocketsAreDropped()
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, _serve.BaseAddress.Port);
        var idle = new List<Socket>(IdleConnections);
        using var stop = new CancellationTokenSource();
        try
        {
            for (var i = 0; i < IdleConnections; i++)
            {
                idle.Add(ConnectRaw(endpoint));
            }

            var slowHeads = Task.Run(() => SlowHeadFlood(endpoint, stop.Token));

            // A normal client: a new connection per request, as a fresh client would open, for a bounded number of requests.
            var answered = 0;
            var failures = new List<string>();
            var worst = TimeSpan.Zero;
            for (var i = 0; i < 40; i++)
            {
                var watch = Stopwatch.StartNew();
                try
                {
                    using var client = RawClient.Connect(endpoint);
                    client.Send("GET /v2/health/ready HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
                    var response = client.ReadResponse();
                    if (response.Status == 200)
                    {
                        answered++;
                    }
                    else
                    {
                        failures.Add($"#{i}: {response.StatusLine}");
                    }
                }
                catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
                {
                    failures.Add($"#{i}: {ex.GetType().Name}: {ex.Message}");
                }

                worst = watch.Elapsed > worst ? watch.Elapsed : worst;
                Thread.Sleep(100);
            }

            stop.Cancel();
            await slowHeads;

            Assert.True(failures.Count == 0, $"{failures.Count} of 40 normal requests failed during the flood:\n{string.Join('\n', failures)}\n{_serve.Output}");
            Assert.Equal(40, answered);
            Assert.True(worst < TimeSpan.FromSeconds(10), $"the slowest normal request took {worst.TotalMilliseconds:F0} ms");

            // The flood's idle sockets themselves are closed by the server, not left to pile up.
            var deadline = Stopwatch.StartNew();
            var open = idle.Count(s => !ClosedAfterAnyReply(s, TimeSpan.Zero));
            while (open > 0 && deadline.Elapsed < DropBound)
            {
                Thread.Sleep(500);
                open = idle.Count(s => !ClosedAfterAnyReply(s, TimeSpan.Zero));
            }

            Assert.True(open == 0, $"{open} of {IdleConnections} idle sockets were still open {DropBound.TotalSeconds} s after the flood");
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Keeps <see cref="SlowHeadConnections"/> connections sending a request head one byte every 200 ms, replacing each one the server drops.</summary>
    private static void SlowHeadFlood(IPEndPoint endpoint, CancellationToken stop)
    {
        var head = Encoding.ASCII.GetBytes("GET /v2/health/live HTTP/1.1\r\nHost: test\r\nX-Slow: " + new string('a', 4000));
        var sockets = new Socket[SlowHeadConnections];
        var sent = new int[SlowHeadConnections];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < sockets.Length; i++)
                {
                    if (sockets[i] is null || sent[i] == head.Length || !TrySend(sockets[i], head.AsSpan(sent[i], 1)))
                    {
                        sockets[i]?.Dispose();
                        sockets[i] = ConnectRaw(endpoint);
                        sent[i] = 0;
                        continue;
                    }

                    sent[i]++;
                }

                stop.WaitHandle.WaitOne(200);
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

    private static Socket ConnectRaw(IPEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(endpoint);
        return socket;
    }

    private static bool TrySend(Socket socket, ReadOnlySpan<byte> bytes)
    {
        try
        {
            return socket.Send(bytes, SocketFlags.None, out var error) == bytes.Length && error == SocketError.Success;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>True when the server has closed (or reset) the connection within <paramref name="within"/>, reading past any reply it sent first.</summary>
    private static bool ClosedAfterAnyReply(Socket socket, TimeSpan within)
    {
        var scratch = new byte[4096];
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var left = within - watch.Elapsed;
            if (!socket.Poll(left > TimeSpan.Zero ? left : TimeSpan.Zero, SelectMode.SelectRead))
            {
                return false;
            }

            try
            {
                if (socket.Receive(scratch) == 0)
                {
                    return true;
                }
            }
            catch (SocketException)
            {
                return true;
            }
        }
    }
}
