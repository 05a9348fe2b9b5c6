using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Storage.S3.Tests;

/// <summary>
/// A loopback HTTP endpoint that answers every request like S3's GetObject, announcing the full
/// Content-Length, then sends only part of the body and closes the connection: a download cut mid-stream.
/// </summary>
internal sealed class TruncatingServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly byte[] _body;
    private readonly int _sendBytes;
    private readonly CancellationTokenSource _stop = new();
    private int _requests;

    public TruncatingServer(byte[] body, int sendBytes)
    {
        _body = body;
        _sendBytes = sendBytes;
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Requests => Volatile.Read(ref _requests);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            using (client)
            {
                Interlocked.Increment(ref _requests);
                var stream = client.GetStream();
                var seen = new List<byte>();
                var buffer = new byte[4096];
                while (!EndsWithBlankLine(seen))
                {
                    var n = await stream.ReadAsync(buffer);
                    if (n == 0)
                    {
                        break;
                    }

                    seen.AddRange(buffer.AsSpan(0, n).ToArray());
                }

                var headers =
                    "HTTP/1.1 200 OK\r\n" +
                    $"Content-Length: {_body.Length}\r\n" +
                    "Content-Type: application/octet-stream\r\n" +
                    "ETag: \"0123456789abcdef0123456789abcdef\"\r\n" +
                    $"Last-Modified: {DateTime.UtcNow:R}\r\n" +
                    "x-amz-request-id: TRUNCATE\r\n" +
                    "Connection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(headers));
                await stream.WriteAsync(_body.AsMemory(0, _sendBytes));
                await stream.FlushAsync();
                client.Client.Shutdown(SocketShutdown.Both);
            }
        }
    }

    private static bool EndsWithBlankLine(List<byte> bytes) =>
        bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n';

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
