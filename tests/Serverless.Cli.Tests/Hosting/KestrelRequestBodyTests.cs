using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Core.Errors;
using Serverless.Core.Protocol;
using Serverless.Hosting.AspNetCore;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// Bounded memory for bad bodies on the Kestrel edge: a chunked body is stopped at the same limit as a declared
/// one while it streams, the reader sees the protocol's 413 (never Kestrel's bare exception, which the handler
/// would answer with a 500), and the bytes the application reads stay within the limit however much the client sends.
/// </summary>
public sealed class KestrelRequestBodyTests
{
    private const long Limit = 1024 * 1024;
    private const long Flood = 50L * 1024 * 1024;

    [Fact]
    public async Task ChunkedBodyOfFiftyMegabytes_Is413AfterReadingAtMostTheLimit_AndTheRestIsNotRead()
    {
        long read = 0;
        Exception? seen = null;
        var adapter = new KestrelProtocolAdapter(async (request, response, ct) =>
        {
            // Reads as the protocol handler does (to the end or the first refusal), counting, keeping nothing.
            var buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = await request.Body.ReadAsync(buffer, ct)) > 0)
                {
                    Interlocked.Add(ref read, n);
                }

                response.StatusCode = 200;
            }
            catch (InferenceException ex)
            {
                seen = ex;
                response.StatusCode = ex.HttpStatus;
                response.ContentType = ProtocolContentTypes.Json;
                response.Body.Write(Encoding.UTF8.GetBytes($"{{\"error\":\"{ex.Message}\"}}"));
            }
        });
        var server = await KestrelProtocolServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), adapter.HandleAsync,
            new KestrelEdgeLimits { MaxRequestBodyBytes = Limit }, NullLoggerFactory.Instance, CancellationToken.None);
        await using (server)
        {
            using var client = RawClient.Connect(server.Addresses[0]);
            client.Send("POST /v2/models/m/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            var sent = new long[1];
            var sender = Task.Run(() => SendChunks(client.Socket, Flood, sent));

            var response = client.ReadResponse();
            var sentAtAnswer = Interlocked.Read(ref sent[0]);
            var sentInAll = await sender.WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(413, response.Status);
            Assert.Contains($"passed the limit of {Limit} bytes", response.Text, StringComparison.Ordinal);
            Assert.Equal(ErrorCode.PayloadTooLarge, Assert.IsType<InferenceException>(seen).Code);
            Assert.True(Interlocked.Read(ref read) <= Limit, $"the application read {read} bytes of a body limited to {Limit}");
            Assert.True(sentInAll < Flood, $"the server read the whole {Flood}-byte body (answered after {sentAtAnswer} bytes were sent)");
        }
    }

    [Fact]
    public async Task MalformedChunkedFraming_ReadFailsWithTheProtocols400()
    {
        Exception? seen = null;
        var adapter = new KestrelProtocolAdapter(async (request, response, ct) =>
        {
            try
            {
                await request.Body.CopyToAsync(Stream.Null, ct);
            }
            catch (InferenceException ex)
            {
                seen = ex;
                response.StatusCode = ex.HttpStatus;
            }
        });
        var server = await KestrelProtocolServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), adapter.HandleAsync,
            new KestrelEdgeLimits { MaxRequestBodyBytes = Limit }, NullLoggerFactory.Instance, CancellationToken.None);
        await using (server)
        {
            using var client = RawClient.Connect(server.Addresses[0]);
            client.Send("POST /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");

            Assert.Equal(400, client.ReadResponse().Status);
            var error = Assert.IsType<InferenceException>(seen);
            Assert.Equal(ErrorCode.InvalidInput, error.Code);
            Assert.Contains("malformed", error.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Sends up to <paramref name="total"/> bytes in 64 KiB chunks until done or the server stops reading, counting
    /// them in <paramref name="progress"/>[0]; returns what was sent.
    /// </summary>
    private static long SendChunks(Socket socket, long total, long[] progress)
    {
        var size = 64 * 1024;
        var chunk = Encoding.ASCII.GetBytes($"{size:x}\r\n" + new string(' ', size) + "\r\n");
        long sent = 0;
        try
        {
            while (sent < total)
            {
                socket.Send(chunk);
                sent += size;
                Interlocked.Exchange(ref progress[0], sent);
            }

            socket.Send("0\r\n\r\n"u8);
        }
        catch (SocketException)
        {
            // The server closed the connection: it stopped reading the body.
        }

        return sent;
    }
}
