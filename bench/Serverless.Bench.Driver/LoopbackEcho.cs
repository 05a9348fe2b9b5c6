using System.Net;
using System.Net.Sockets;

namespace Serverless.Bench.Driver;

/// <summary>
/// The floor under the HTTP floor: a thread in the driver that accepts one loopback connection and answers every
/// request head (no body) with the same canned 200, using blocking socket calls and no HTTP stack. Timed with the
/// same client as the servers' readiness routes, it measures the loopback round trip and two thread wake-ups on
/// this machine, so a server's floor minus this is what its own HTTP stack costs per request.
/// </summary>
internal sealed class LoopbackEcho : IDisposable
{
    /// <summary>Its row in the HTTP floor table.</summary>
    public const string Name = "loopback echo in the driver (no HTTP stack)";

    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"ready\":true}"u8.ToArray();

    private readonly TcpListener _listener;
    private readonly Thread _thread;

    public LoopbackEcho()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _thread = new Thread(Serve) { IsBackground = true, Name = "loopback echo" };
        _thread.Start();
    }

    public int Port { get; }

    public void Dispose()
    {
        _listener.Stop();
        _thread.Join(TimeSpan.FromSeconds(5));
    }

    private void Serve()
    {
        try
        {
            using var socket = _listener.AcceptSocket();
            socket.NoDelay = true;
            var buffer = new byte[1 << 14];
            var filled = 0;
            while (true)
            {
                var received = socket.Receive(buffer, filled, buffer.Length - filled, SocketFlags.None);
                if (received == 0)
                {
                    return;
                }

                filled += received;
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) >= 0)
                {
                    socket.Send(Response);
                    filled -= end + 4;
                    buffer.AsSpan(end + 4, filled).CopyTo(buffer);
                }

                if (filled == buffer.Length)
                {
                    return;
                }
            }
        }
        catch (SocketException)
        {
            // The listener was stopped or the client went away: the echo ends with the run.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
