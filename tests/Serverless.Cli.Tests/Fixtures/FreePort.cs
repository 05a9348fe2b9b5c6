using System.Net;
using System.Net.Sockets;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>Finds a free TCP port on 127.0.0.1 (for child processes that must be told their port up front).</summary>
internal static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
