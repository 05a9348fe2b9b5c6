using System.Net;
using System.Net.Sockets;

namespace Serverless.Tests.Shared;

/// <summary>Free TCP ports on 127.0.0.1, for child processes that must be told their port up front.</summary>
internal static class LoopbackPort
{
    /// <summary>
    /// A port that was free a moment ago. Another process can take it before the caller binds it, which is
    /// rare enough on loopback that the fixtures accept the race rather than retry.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Polls until something accepts connections on the port, or the deadline passes.</summary>
    /// <param name="port">The loopback port to connect to.</param>
    /// <param name="timeout">How long to keep trying.</param>
    /// <param name="giveUp">Checked between attempts; true stops waiting early (e.g. the server process died).</param>
    /// <returns>True once a connection succeeded; false if the deadline passed or <paramref name="giveUp"/> said so.</returns>
    public static async Task<bool> WaitUntilAcceptingAsync(int port, TimeSpan timeout, Func<bool>? giveUp = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (giveUp?.Invoke() == true)
            {
                return false;
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }
}
