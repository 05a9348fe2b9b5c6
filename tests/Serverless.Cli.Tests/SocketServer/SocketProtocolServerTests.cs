using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Serverless.Core.Protocol;
using Serverless.Hosting.Sockets;

namespace Serverless.Cli.Tests.SocketServer;

/// <summary>
/// The blocking-socket server on 127.0.0.1 with small handlers, driven by raw bytes: framing (keep-alive,
/// pipelining, split and chunked bodies, 100-continue, HEAD), every refusal answered and closed while the
/// server keeps serving, the limits and timeouts, the hooks, and stop.
/// </summary>
public sealed class SocketProtocolServerTests
{
    private static readonly TimeSpan Patience = RawClient.Patience;

    private static SocketProtocolServer Start(ProtocolRequestHandler? handler = null, SocketServerOptions? options = null) =>
        SocketProtocolServer.Start(new IPEndPoint(IPAddress.Loopback, 0), handler ?? TestHandlers.Echo, options);

    private static string Get(string path, string extra = "") => $"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n";

    private static string Post(string path, string body, string extra = "") =>
        $"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.Latin1.GetByteCount(body)}\r\n{extra}\r\n{body}";

    /// <summary>A fresh connection gets a normal answer.</summary>
    private static void AssertStillServing(SocketProtocolServer server)
    {
        using var client = RawClient.Connect(server);
        client.Send(Get("/alive", "Connection: close\r\n"));
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("/alive", response.Header("X-Path") ?? response.Text.Split(' ').Last());
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < Patience, $"timed out waiting until {what}");
            Thread.Sleep(10);
        }
    }

    private static void AssertClosedAfterError(RawClient client, RawResponse response, int status)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.False(string.IsNullOrWhiteSpace(response.Error));
        Assert.True(client.ClosedByServer(Patience), "the server kept the connection open after the error");
    }

    [Fact]
    public async Task KeepAlive_ThreeRequestsOnOneConnection()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        for (var i = 0; i < 3; i++)
        {
            client.Send(Post($"/r{i}", $"body-{i}"));
            var response = client.ReadResponse();
            Assert.Equal(200, response.Status);
            Assert.Equal("HTTP/1.1 200 OK", response.StatusLine);
            Assert.Equal($"/r{i}", response.Header("X-Path"));
            Assert.Equal($"body-{i}", response.Text);
            Assert.Equal("application/octet-stream", response.Header("Content-Type"));
            Assert.Null(response.Header("Connection"));
            Assert.NotNull(response.Header("Date"));
        }

        Assert.Equal(1, server.ConnectionCount);
    }

    [Fact]
    public async Task Pipelining_TwoRequestsInOneSend_TwoResponsesInOrder()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        client.Send(Post("/first", "abc") + Get("/second?q=1") + Post("/third", "xyz"));
        var first = client.ReadResponse();
        var second = client.ReadResponse();
        var third = client.ReadResponse();
        Assert.Equal("/first", first.Header("X-Path"));
        Assert.Equal("abc", first.Text);
        Assert.Equal("/second", second.Header("X-Path"));
        Assert.Equal("q=1", second.Header("X-Query"));
        Assert.Equal("GET", second.Header("X-Method"));
        Assert.Empty(second.Body);
        Assert.Equal("/third", third.Header("X-Path"));
        Assert.Equal("xyz", third.Text);
        Assert.False(client.ClosedByServer(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task EmptyLinesBeforeTheRequestLine_AreSkipped()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        client.Send("\r\n\r\n" + Get("/after-blank-lines"));
        Assert.Equal("/after-blank-lines", client.ReadResponse().Header("X-Path"));
    }

    [Fact]
    public async Task ContentLengthBody_SplitAcrossManySmallSends_ArrivesWhole()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        var body = string.Concat(Enumerable.Range(0, 40).Select(i => $"part{i};"));
        client.SendInPieces(Encoding.Latin1.GetBytes(Post("/split", body)), [1, 7, 3, 13, 2], TimeSpan.FromMilliseconds(2));
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal(body, response.Text);
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Header("X-Declared-Length"));

        // The connection is still in step.
        client.Send(Get("/next"));
        Assert.Equal("/next", client.ReadResponse().Header("X-Path"));
    }

    [Fact]
    public async Task ChunkedBody_InOddSplits_WithExtensionsAndTrailers()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        var data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 50).Select(i => $"<{i}>")));
        var wire = new StringBuilder("POST /chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n");
        wire.Append("5;name=value;other\r\n").Append(Encoding.ASCII.GetString(data, 0, 5)).Append("\r\n");
        wire.Append("1a \t;ext\r\n").Append(Encoding.ASCII.GetString(data, 5, 0x1a)).Append("\r\n");        // lower-case hex, space before ';'
        wire.Append("000F\r\n").Append(Encoding.ASCII.GetString(data, 5 + 0x1a, 15)).Append("\r\n");
        var rest = data.Length - 5 - 0x1a - 15;
        wire.Append(rest.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n").Append(Encoding.ASCII.GetString(data, data.Length - rest, rest)).Append("\r\n");
        wire.Append("0;last\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n");
        wire.Append(Get("/after"));
        client.SendInPieces(Encoding.Latin1.GetBytes(wire.ToString()), [3, 1, 4, 1, 5, 9, 2, 6], TimeSpan.FromMilliseconds(1));

        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal(data, response.Body);
        Assert.Equal("(none)", response.Header("X-Declared-Length"));
        Assert.Equal("text/plain", response.Header("X-Content-Type"));
        Assert.Equal("/after", client.ReadResponse().Header("X-Path"));
    }

    [Fact]
    public async Task LargeContentLengthBody_ArrivesIntact()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        var body = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        client.Send($"POST /large HTTP/1.1\r\nHost: test\r\nContent-Length: {body.Length}\r\n\r\n");
        client.Send(body);
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(body)), response.Header("X-Body-Sha256"));
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(response.Body));
    }

    [Fact]
    public async Task LargeChunkedBody_ArrivesIntact()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        var body = RandomNumberGenerator.GetBytes(5 * 1024 * 1024 + 17);
        client.Send("POST /large HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (var at = 0; at < body.Length;)
        {
            var size = Math.Min(body.Length - at, 100_000 + (at % 7919));
            client.Send($"{size:X}\r\n");
            client.Send(body.AsSpan(at, size));
            client.Send("\r\n");
            at += size;
        }

        client.Send("0\r\n\r\n");
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(body)), response.Header("X-Body-Sha256"));
    }

    [Fact]
    public async Task ExpectContinue_InterimSentWhenTheHandlerReadsTheBody()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        client.Send("POST /continue HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");

        // The client waits for the interim response before sending the body.
        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", Encoding.ASCII.GetString(client.ReadExactly(25)));
        client.Send("hello");
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("hello", response.Text);
        Assert.Null(response.Header("Connection"));

        // No interim for a request without a body, and the connection goes on.
        client.Send(Get("/plain", "Expect: 100-continue\r\n"));
        var plain = client.ReadResponse();
        Assert.Equal(200, plain.Status);
        Assert.Equal("/plain", plain.Header("X-Path"));
    }

    [Fact]
    public async Task ExpectContinue_HandlerDoesNotRead_NoInterimAndTheConnectionCloses()
    {
        await using var server = Start(TestHandlers.Ignore);
        using var client = RawClient.Connect(server);
        client.Send("POST /ignore HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("ignored POST /ignore", response.Text);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(client.ClosedByServer(Patience));
    }

    [Theory]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n", "hexadecimal")]                 // malformed size
    [InlineData("-5\r\nhello\r\n0\r\n\r\n", "hexadecimal")]
    [InlineData("\r\nhello\r\n0\r\n\r\n", "hexadecimal")]                   // empty size
    [InlineData("5\nhello\r\n0\r\n\r\n", "CRLF")]                           // bare LF after the size
    [InlineData("5\r\nhelloXY0\r\n\r\n", "chunk end")]                      // chunk without its CRLF
    [InlineData("5\r\nhelloXY\r\n0\r\n\r\n", "no CRLF after it")]
    [InlineData("5\r\nhello world\r\n0\r\n\r\n", "chunk end")]              // chunk longer than its size
    [InlineData("1000000000000000\r\n", "hexadecimal")]                     // size over 15 hex digits
    public async Task MalformedChunk_Is400AndTheServerKeepsServing(string chunks, string inMessage)
    {
        await using var server = Start();
        using (var client = RawClient.Connect(server))
        {
            client.Send("POST /bad HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
            var response = client.ReadResponse();
            AssertClosedAfterError(client, response, 400);
            Assert.Contains(inMessage, response.Error, StringComparison.Ordinal);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task ChunkSizeLineOverTheLimit_Is400()
    {
        await using var server = Start();
        using (var client = RawClient.Connect(server))
        {
            client.Send("POST /long-ext HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5;" + new string('e', 5000) + "\r\nhello\r\n0\r\n\r\n");
            var response = client.ReadResponse();
            AssertClosedAfterError(client, response, 400);
            Assert.Contains("longer than 4096 bytes", response.Error, StringComparison.Ordinal);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task TooManyTrailers_Are400()
    {
        await using var server = Start();
        using (var client = RawClient.Connect(server))
        {
            var trailers = string.Concat(Enumerable.Range(0, 101).Select(i => $"T{i}: v\r\n"));
            client.Send("POST /trailers HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n" + trailers + "\r\n");
            var response = client.ReadResponse();
            AssertClosedAfterError(client, response, 400);
            Assert.Contains("trailer", response.Error, StringComparison.Ordinal);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task HandlerReadingPartOfTheBody_RestIsDroppedAndTheConnectionKept()
    {
        await using var server = Start(async (request, response, ct) =>
        {
            var first = new byte[3];
            var read = await request.Body.ReadAsync(first, ct);
            response.ContentType = "text/plain";
            response.Body.Write(first.AsSpan(0, read));
        });
        using var client = RawClient.Connect(server);
        client.Send(Post("/part", "abcdefghij") + "POST /part2 HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n3\r\nzzz\r\n0\r\n\r\n" + Post("/part3", "123"));
        Assert.Equal("abc", client.ReadResponse().Text);
        Assert.Equal("xy", client.ReadResponse().Text);
        var third = client.ReadResponse();
        Assert.Equal("123", third.Text);
        Assert.Null(third.Header("Connection"));
    }

    [Fact]
    public async Task Http10_ExpectContinue_IsIgnored()
    {
        // RFC 9110, 10.1.1: an HTTP/1.0 client does not know 1xx responses; the expectation is ignored.
        await using var server = Start();
        using var client = RawClient.Connect(server);
        client.Send("POST /old HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello");
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("hello", response.Text);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(client.ClosedByServer(Patience));
    }

    [Fact]
    public async Task ManyConcurrentClients_EachGetTheirOwnAnswers()
    {
        await using var server = Start();
        var clients = Enumerable.Range(0, 16).Select(c => Task.Run(() =>
        {
            using var client = RawClient.Connect(server);
            for (var i = 0; i < 25; i++)
            {
                var body = $"client {c} request {i} " + new string((char)('a' + (c % 26)), (c * 37 + i * 101) % 3000);
                client.Send(Post($"/c{c}/r{i}", body));
                var response = client.ReadResponse();
                Assert.Equal(200, response.Status);
                Assert.Equal($"/c{c}/r{i}", response.Header("X-Path"));
                Assert.Equal(body, response.Text);
            }
        })).ToArray();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task ClientsThatResetRightAway_DoNotStopTheServer()
    {
        await using var server = Start();
        for (var i = 0; i < 50; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(server.LocalEndPoint);
            if (i % 2 == 0)
            {
                socket.Send(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHo"));
            }

            socket.LingerState = new LingerOption(true, 0); // close with a reset
            socket.Close();
        }

        WaitUntil(() => server.ConnectionCount == 0, "the reset connections are gone");
        AssertStillServing(server);
    }

    [Fact]
    public async Task MaxConnections_RefusedClientThatAlreadySentABody_StillReadsThe503()
    {
        await using var server = Start(options: new SocketServerOptions { MaxConnections = 1 });
        using var first = RawClient.Connect(server);
        first.Send(Get("/1"));
        Assert.Equal(200, first.ReadResponse().Status);
        for (var i = 0; i < 10; i++)
        {
            using var refused = RawClient.Connect(server);
            refused.Send(Post("/over", new string('x', 64 * 1024)));
            var response = refused.ReadResponse();
            Assert.Equal(503, response.Status);
            Assert.Equal("1", response.Header("Retry-After"));
        }
    }

    [Fact]
    public async Task ChunkedBodyCutShort_ThenHalfClose_Is400()
    {
        await using var server = Start();
        using (var client = RawClient.Connect(server))
        {
            client.Send("POST /cut HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly-six");
            client.ShutdownSend();
            var response = client.ReadResponse();
            AssertClosedAfterError(client, response, 400);
            Assert.Contains("ended inside a chunk", response.Error, StringComparison.Ordinal);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task BodyShorterThanContentLength_ThenHalfClose_Is400AndTheServerKeepsServing()
    {
        await using var server = Start();
        using (var client = RawClient.Connect(server))
        {
            client.Send("POST /short HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabcd");
            client.ShutdownSend();
            var response = client.ReadResponse();
            AssertClosedAfterError(client, response, 400);
            Assert.Contains("6 byte(s) before its Content-Length", response.Error, StringComparison.Ordinal);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task BodyStalledPastTheBodyTimeout_Is400()
    {
        await using var server = Start(options: new SocketServerOptions { BodyTimeout = TimeSpan.FromMilliseconds(300) });
        using (var client = RawClient.Connect(server))
        {
            client.Send("POST /stall HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabcd");
            var response = client.ReadResponse();
            AssertClosedAfterError(client, response, 400);
            Assert.Contains("stalled", response.Error, StringComparison.Ordinal);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task ClientGoneMidBody_ServerCleansUpAndKeepsServing()
    {
        await using var server = Start();
        using (var client = RawClient.Connect(server))
        {
            client.Send("POST /gone HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\nabcd");
            WaitUntil(() => server.ConnectionCount == 1, "the connection is open");
        }

        WaitUntil(() => server.ConnectionCount == 0, "the server drops the connection");
        AssertStillServing(server);
    }

    [Theory]
    [InlineData("GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505)]
    [InlineData("GET http://test/ HTTP/1.1\r\nHost: test\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: test\r\nX-Folded: a\r\n b\r\n\r\n", 400)]
    [InlineData("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400)]
    [InlineData("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", 400)]
    [InlineData("POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501)]
    [InlineData("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nExpect: something\r\n\r\nabc", 417)]
    public async Task RefusedHead_IsAnsweredWithItsStatus_ClosedAndTheServerKeepsServing(string request, int status)
    {
        var handled = 0;
        await using var server = Start((request, response, ct) =>
        {
            Interlocked.Increment(ref handled);
            return TestHandlers.Echo(request, response, ct);
        });
        using (var client = RawClient.Connect(server))
        {
            client.Send(request);
            var response = client.ReadResponse();
            AssertClosedAfterError(client, response, status);
        }

        Assert.Equal(0, Volatile.Read(ref handled));
        AssertStillServing(server);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\nHost: test\n\n")]               // bare LF throughout, as printf | nc sends it
    [InlineData("GET / HTTP/1.1\r\nHost: test\n\r\n")]           // one bare LF
    [InlineData("\nGET / HTTP/1.1\r\nHost: test\r\n\r\n")]       // a bare LF as the empty line before the request
    public async Task BareLineFeedInTheHead_Is400AtOnce(string request)
    {
        // The head would never end in CRLFCRLF: the refusal must not wait for the head timeout.
        await using var server = Start(options: new SocketServerOptions { RequestHeadTimeout = TimeSpan.FromSeconds(20) });
        using (var client = RawClient.Connect(server))
        {
            var watch = Stopwatch.StartNew();
            client.Send(request);
            var response = client.ReadResponse();
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"answered after {watch.ElapsedMilliseconds} ms");
            AssertClosedAfterError(client, response, 400);
            Assert.Contains("LF", response.Error, StringComparison.Ordinal);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task BareLineFeedsInTheBody_AreJustBytes()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        client.Send(Post("/lf", "a\nb\n\nc") + Get("/next"));
        Assert.Equal("a\nb\n\nc", client.ReadResponse().Text);
        Assert.Equal("/next", client.ReadResponse().Header("X-Path"));
    }

    [Fact]
    public async Task HeadOverTheLimit_Unterminated_Is431()
    {
        await using var server = Start(options: new SocketServerOptions { MaxRequestHeadBytes = 1024 });
        using (var client = RawClient.Connect(server))
        {
            client.Send("GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + new string('a', 1100));
            AssertClosedAfterError(client, client.ReadResponse(), 431);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task HeadOverTheLimit_ArrivingWhole_Is431()
    {
        // The limit must not depend on how the bytes happen to be split into packets.
        await using var server = Start(options: new SocketServerOptions { MaxRequestHeadBytes = 1024 });
        using (var client = RawClient.Connect(server))
        {
            client.Send(Get("/", "X-Big: " + new string('a', 1100) + "\r\n"));
            AssertClosedAfterError(client, client.ReadResponse(), 431);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task HeadJustUnderTheLimit_IsServed()
    {
        await using var server = Start(options: new SocketServerOptions { MaxRequestHeadBytes = 1024 });
        using var client = RawClient.Connect(server);
        var request = Get("/", "X-Big: ");
        var filler = 1024 - (request.Length - 2); // the head up to (not including) its blank line is exactly the limit
        client.Send(Get("/", "X-Big: " + new string('a', filler) + "\r\n"));
        Assert.Equal(200, client.ReadResponse().Status);
    }

    [Fact]
    public async Task DefaultHeadLimit_32KHeaderServed_64KRefused()
    {
        await using var server = Start();
        using (var client = RawClient.Connect(server))
        {
            client.Send(Get("/", "X-Big: " + new string('a', 30_000) + "\r\n"));
            Assert.Equal(200, client.ReadResponse().Status);
        }

        using (var client = RawClient.Connect(server))
        {
            client.Send(Get("/", "X-Big: " + new string('a', 70_000) + "\r\n"));
            AssertClosedAfterError(client, client.ReadResponse(), 431);
        }
    }

    [Fact]
    public async Task HeadLimitOverTheReceiveBuffer_LongHeadIsStillServed()
    {
        await using var server = Start(options: new SocketServerOptions { MaxRequestHeadBytes = 200_000 });
        using var client = RawClient.Connect(server);
        client.Send(Get("/big-head", "X-Big: " + new string('a', 150_000) + "\r\n"));
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("/big-head", response.Header("X-Path"));
    }

    [Fact]
    public async Task HooksThatThrow_DoNotStopTheServer()
    {
        var completions = 0;
        await using var server = Start(
            (request, response, ct) => request.Path == "/throw" ? throw new InvalidOperationException("handler") : TestHandlers.Echo(request, response, ct),
            new SocketServerOptions
            {
                RequestCompleted = _ =>
                {
                    Interlocked.Increment(ref completions);
                    throw new InvalidOperationException("logging hook");
                },
                HandlerFailed = _ => throw new InvalidOperationException("failure hook"),
            });
        using (var client = RawClient.Connect(server))
        {
            client.Send(Get("/first"));
            Assert.Equal(200, client.ReadResponse().Status);
            client.Send(Get("/second"));
            Assert.Equal("/second", client.ReadResponse().Header("X-Path"));
            client.Send(Get("/throw"));
            Assert.Equal(500, client.ReadResponse().Status);
        }

        AssertStillServing(server);

        // The hook runs after each response is sent, so the last one may still be on its way.
        WaitUntil(() => Volatile.Read(ref completions) >= 4, "the hook to see all four requests");
    }

    [Theory]
    [InlineData("KeepAliveTimeout", 0)]
    [InlineData("RequestHeadTimeout", -1)]
    [InlineData("BodyTimeout", 0)]
    public void Start_NonPositiveTimeout_IsRefusedNamingIt(string name, int milliseconds)
    {
        var timeout = TimeSpan.FromMilliseconds(milliseconds);
        var options = name switch
        {
            "KeepAliveTimeout" => new SocketServerOptions { KeepAliveTimeout = timeout },
            "RequestHeadTimeout" => new SocketServerOptions { RequestHeadTimeout = timeout },
            _ => new SocketServerOptions { BodyTimeout = timeout },
        };

        var error = Assert.Throws<ArgumentException>(() => Start(options: options));
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_HandlerIgnoringCancellation_ReturnsAfterDrainAndGrace()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        var server = Start((request, response, ct) =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(60));
            return Task.CompletedTask;
        });
        using var client = RawClient.Connect(server);
        client.Send(Get("/stuck"));
        Assert.True(entered.Wait(Patience));

        var watch = Stopwatch.StartNew();
        var stop = server.StopAsync(TimeSpan.FromMilliseconds(200));
        var finished = await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(30)));
        release.Set();
        Assert.Same(stop, finished);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"stop took {watch.Elapsed}");
        await server.DisposeAsync();
    }

    [Fact]
    public async Task SlowHead_PastASubSecondHeadTimeout_SaysMilliseconds()
    {
        await using var server = Start(options: new SocketServerOptions { RequestHeadTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = RawClient.Connect(server);
        client.Send("GET / HTTP/1.1\r\nHost: te");
        var response = client.ReadResponse();
        Assert.Equal(408, response.Status);
        Assert.Contains("300 ms", response.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowHead_PastTheHeadTimeout_Is408()
    {
        await using var server = Start(options: new SocketServerOptions { RequestHeadTimeout = TimeSpan.FromMilliseconds(300) });
        using (var client = RawClient.Connect(server))
        {
            var watch = Stopwatch.StartNew();
            client.Send("GET / HTTP/1.1\r\nHost: te");
            Thread.Sleep(100);
            client.Send("st\r\n");
            var response = client.ReadResponse();
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(250), $"408 after {watch.ElapsedMilliseconds} ms");
            AssertClosedAfterError(client, response, 408);
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task IdleKeepAlive_PastTheKeepAliveTimeout_IsClosed()
    {
        await using var server = Start(options: new SocketServerOptions { KeepAliveTimeout = TimeSpan.FromMilliseconds(300) });
        using (var client = RawClient.Connect(server))
        {
            client.Send(Get("/once"));
            Assert.Equal(200, client.ReadResponse().Status);
            var watch = Stopwatch.StartNew();
            Assert.True(client.ClosedByServer(Patience));
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(250), $"closed after {watch.ElapsedMilliseconds} ms");
        }

        // A connection that never sends anything is closed too.
        using (var silent = RawClient.Connect(server))
        {
            Assert.True(silent.ClosedByServer(Patience));
        }

        WaitUntil(() => server.ConnectionCount == 0, "both connections are gone");
        AssertStillServing(server);
    }

    [Fact]
    public async Task Http10_ClosesByDefault()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        client.Send("GET /old HTTP/1.0\r\n\r\n");
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("HTTP/1.1 200 OK", response.StatusLine);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(client.ClosedByServer(Patience));
    }

    [Fact]
    public async Task Http10_KeepAlive_StaysOpen()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        for (var i = 0; i < 2; i++)
        {
            client.Send($"POST /old{i} HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
            var response = client.ReadResponse();
            Assert.Equal(200, response.Status);
            Assert.Equal("keep-alive", response.Header("Connection"));
            Assert.Equal($"/old{i}", response.Header("X-Path"));
            Assert.Equal("ok", response.Text);
        }

        Assert.False(client.ClosedByServer(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task ConnectionClose_IsHonoured()
    {
        await using var server = Start();
        using var client = RawClient.Connect(server);
        client.Send(Get("/bye", "Connection: close\r\n") + Get("/never"));
        var response = client.ReadResponse();
        Assert.Equal("/bye", response.Header("X-Path"));
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(client.ClosedByServer(Patience));
    }

    [Fact]
    public async Task Head_SendsContentLengthButNoBody()
    {
        await using var server = Start(TestHandlers.Ignore);
        using var client = RawClient.Connect(server);

        // The GET after the HEAD only parses if the HEAD response carried no body bytes.
        client.Send("HEAD /thing HTTP/1.1\r\nHost: test\r\n\r\n" + Get("/thing"));
        var head = client.ReadResponse(headRequest: true);
        Assert.Equal(200, head.Status);
        Assert.Equal("text/plain", head.Header("Content-Type"));
        Assert.Equal("ignored HEAD /thing".Length.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Header("Content-Length"));
        Assert.Empty(head.Body);
        var get = client.ReadResponse();
        Assert.Equal("ignored GET /thing", get.Text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HandlerThatThrows_Is500_HookCalled_ServerKeepsServing(bool synchronously)
    {
        var failures = new ConcurrentQueue<Exception>();
        await using var server = Start(
            (request, response, ct) =>
            {
                if (request.Path == "/throw")
                {
                    response.Body.Write("partial answer"u8);
                    response.SetHeader("X-Leftover", "1");
                    return synchronously ? throw new InvalidOperationException("boom") : Task.FromException(new InvalidOperationException("boom"));
                }

                return TestHandlers.Echo(request, response, ct);
            },
            new SocketServerOptions { HandlerFailed = failures.Enqueue });
        using (var client = RawClient.Connect(server))
        {
            client.Send(Post("/throw", "some body"));
            var response = client.ReadResponse();
            Assert.Equal(500, response.Status);
            Assert.Equal("HTTP/1.1 500 Internal Server Error", response.StatusLine);
            Assert.Null(response.Header("X-Leftover"));
            Assert.Contains("Internal server error", response.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("boom", response.Text, StringComparison.Ordinal);

            var failure = Assert.Single(failures);
            Assert.Equal("boom", Assert.IsType<InvalidOperationException>(failure).Message);

            // After a handler failure the connection's state is unknown: the answer says close, and it does.
            Assert.Equal("close", response.Header("Connection"));
            Assert.True(client.ClosedByServer(Patience));
        }

        AssertStillServing(server);
    }

    [Fact]
    public async Task ResponseHeaderValuesWithCrLf_AreNeutralised()
    {
        await using var server = Start((request, response, ct) =>
        {
            response.ContentType = "text/plain\r\nSet-Cookie: from-type=1";
            response.SetHeader("X-Evil", "a\r\nSet-Cookie: pwned=1\r\n\r\nHTTP/1.1 200 OK");
            response.SetHeader("X-Evil-Name\r\nSet-Cookie", "n=1");
            response.SetHeader("X-Unicode", "caf\u00e9 \u2028 ok");
            response.Body.Write("body"u8);
            return Task.CompletedTask;
        });
        using var client = RawClient.Connect(server);
        client.Send(Get("/inject") + Get("/inject"));
        for (var i = 0; i < 2; i++)
        {
            var response = client.ReadResponse();
            Assert.Equal(200, response.Status);
            Assert.DoesNotContain(response.Headers, h => h.Key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase));
            Assert.Equal("text/plain??Set-Cookie: from-type=1", response.Header("Content-Type"));
            Assert.Equal("a??Set-Cookie: pwned=1????HTTP/1.1 200 OK", response.Header("X-Evil"));
            Assert.Equal("n=1", response.Header("X-Evil-Name??Set-Cookie"));
            Assert.Equal("caf? ? ok", response.Header("X-Unicode"));
            Assert.Equal("body", response.Text);
        }
    }

    [Fact]
    public async Task MaxConnections_OneMoreIsRefusedWith503()
    {
        await using var server = Start(options: new SocketServerOptions { MaxConnections = 2 });
        using var first = RawClient.Connect(server);
        using var second = RawClient.Connect(server);
        first.Send(Get("/1"));
        second.Send(Get("/2"));
        Assert.Equal(200, first.ReadResponse().Status);
        Assert.Equal(200, second.ReadResponse().Status);
        Assert.Equal(2, server.ConnectionCount);

        using (var third = RawClient.Connect(server))
        {
            third.Send(Get("/3"));
            var refused = third.ReadResponse();
            Assert.Equal(503, refused.Status);
            Assert.Equal("1", refused.Header("Retry-After"));
            Assert.Contains("2 connections", refused.Error, StringComparison.Ordinal);
            Assert.Equal("close", refused.Header("Connection"));
            Assert.True(third.ClosedByServer(Patience));
        }

        // The two admitted ones still work, and a slot freed is a slot available.
        first.Send(Get("/1b"));
        Assert.Equal("/1b", first.ReadResponse().Header("X-Path"));
        second.Dispose();
        WaitUntil(() => server.ConnectionCount == 1, "the second connection is gone");
        using var fourth = RawClient.Connect(server);
        fourth.Send(Get("/4"));
        Assert.Equal("/4", fourth.ReadResponse().Header("X-Path"));
    }

    [Fact]
    public async Task RequestCompleted_ReceivesMethodPathAndStatus()
    {
        var completions = new BlockingCollection<RequestCompletion>();
        await using var server = Start(
            (request, response, ct) =>
            {
                if (request.Path == "/missing")
                {
                    TestHandlers.WriteError(response, 404, "not here");
                    return Task.CompletedTask;
                }

                return TestHandlers.Echo(request, response, ct);
            },
            new SocketServerOptions { RequestCompleted = completions.Add });
        using (var client = RawClient.Connect(server))
        {
            client.Send(Post("/v2/models/m/infer?x=1", "{}"));
            Assert.Equal(200, client.ReadResponse().Status);
            client.Send(Get("/missing"));
            Assert.Equal(404, client.ReadResponse().Status);
            client.Send("HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n");
            Assert.Equal(200, client.ReadResponse(headRequest: true).Status);
        }

        using (var client = RawClient.Connect(server))
        {
            client.Send("GET / HTTP/2.0\r\n\r\n");
            Assert.Equal(505, client.ReadResponse().Status);
        }

        var seen = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            Assert.True(completions.TryTake(out var completion, Patience), $"only {i} completions");
            Assert.True(completion.Elapsed >= TimeSpan.Zero);
            seen.Add($"{completion.Method} {completion.Path} {completion.StatusCode}");
        }

        // One connection's completions come in order; the refused head's may overtake the last of them.
        string[] firstConnection = ["POST /v2/models/m/infer 200", "GET /missing 404", "HEAD /h 200"];
        Assert.Equal(firstConnection, seen.Where(s => s != "- - 505").ToArray());
        Assert.Contains("- - 505", seen);
    }

    [Fact]
    public async Task Stop_ClosesIdleConnectionsPromptly_ThenRefusesConnects()
    {
        var server = Start();
        var endpoint = server.LocalEndPoint;
        using var used = RawClient.Connect(server);
        used.Send(Get("/once"));
        Assert.Equal(200, used.ReadResponse().Status);
        using var silent = RawClient.Connect(server);
        using var halfway = RawClient.Connect(server);
        halfway.Send("GET /half HTTP/1.1\r\nHo");
        WaitUntil(() => server.ConnectionCount == 3, "the three connections are admitted");

        var watch = Stopwatch.StartNew();
        await server.StopAsync(TimeSpan.FromSeconds(20)).WaitAsync(Patience);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"stop took {watch.ElapsedMilliseconds} ms with no request in flight");
        Assert.True(used.ClosedByServer(Patience));
        Assert.True(silent.ClosedByServer(Patience));
        Assert.True(halfway.ClosedByServer(Patience));
        Assert.Equal(0, server.ConnectionCount);

        var refused = Assert.Throws<SocketException>(() => RawClient.Connect(endpoint).Dispose());
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Stop_LetsAnInFlightRequestFinishWithConnectionClose()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = Start(async (request, response, ct) =>
        {
            entered.TrySetResult();
            await release.Task;
            await TestHandlers.Echo(request, response, ct);
        });
        await using (server)
        {
            using var client = RawClient.Connect(server);
            client.Send(Post("/slow", "payload"));
            await entered.Task.WaitAsync(Patience);

            var stop = server.StopAsync(TimeSpan.FromSeconds(20));
            await Task.Delay(100);
            Assert.False(stop.IsCompleted);
            Assert.Throws<SocketException>(() => RawClient.Connect(server.LocalEndPoint).Dispose());

            release.SetResult();
            var response = client.ReadResponse();
            Assert.Equal(200, response.Status);
            Assert.Equal("payload", response.Text);
            Assert.Equal("close", response.Header("Connection"));
            Assert.True(client.ClosedByServer(Patience));
            await stop.WaitAsync(Patience);
        }
    }

    [Fact]
    public async Task Stop_HandlerStillRunningAfterTheDrain_SeesItsTokenCancelled()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = Start(async (request, response, ct) =>
        {
            using var registration = ct.Register(() => cancelled.TrySetResult());
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        await using (server)
        {
            using var client = RawClient.Connect(server);
            client.Send(Get("/forever"));
            await entered.Task.WaitAsync(Patience);

            var watch = Stopwatch.StartNew();
            await server.StopAsync(TimeSpan.FromMilliseconds(300)).WaitAsync(Patience);
            Assert.True(cancelled.Task.IsCompleted, "the handler's token was not cancelled");
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(250), $"stop after {watch.ElapsedMilliseconds} ms");
            Assert.True(client.ClosedByServer(Patience));
            Assert.Equal(0, server.ConnectionCount);
        }
    }

    [Fact]
    public async Task Start_PortInUse_ThrowsIOExceptionSayingSo()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var endpoint = (IPEndPoint)taken.LocalEndPoint!;

        var error = Assert.Throws<IOException>(() => SocketProtocolServer.Start(endpoint, TestHandlers.Echo));
        Assert.Contains("address already in use", error.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{endpoint.Port}", error.Message, StringComparison.Ordinal);
        Assert.IsType<SocketException>(error.InnerException);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Start_ReportsTheChosenPort()
    {
        await using var server = Start();
        Assert.NotEqual(0, server.LocalEndPoint.Port);
        Assert.Equal(new Uri($"http://127.0.0.1:{server.LocalEndPoint.Port}/"), server.Address);
    }

    [Fact]
    public void Start_RefusesNonsenseOptions()
    {
        Assert.Throws<ArgumentException>(() => Start(options: new SocketServerOptions { MaxConnections = 0 }));
        Assert.Throws<ArgumentException>(() => Start(options: new SocketServerOptions { MaxRequestHeadBytes = 100 }));
    }

    [Fact]
    public async Task SmallUnreadBody_IsDroppedAndTheConnectionKept()
    {
        await using var server = Start(TestHandlers.Ignore);
        using var client = RawClient.Connect(server);
        var body = RandomNumberGenerator.GetBytes(200 * 1024);
        client.Send($"POST /ignore HTTP/1.1\r\nHost: test\r\nContent-Length: {body.Length}\r\n\r\n");
        client.Send(body);
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Null(response.Header("Connection"));

        client.Send("POST /chunked-ignore HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n");
        var chunked = client.ReadResponse();
        Assert.Equal("ignored POST /chunked-ignore", chunked.Text);
        Assert.Null(chunked.Header("Connection"));

        client.Send(Get("/next"));
        Assert.Equal("ignored GET /next", client.ReadResponse().Text);
    }

    [Fact]
    public async Task LargeUnreadBody_ResponseStillReadable_ThenClosed()
    {
        await using var server = Start(TestHandlers.Ignore);
        using var client = RawClient.Connect(server);
        var body = new byte[4 * 1024 * 1024];
        client.Send($"POST /ignore HTTP/1.1\r\nHost: test\r\nContent-Length: {body.Length}\r\n\r\n");

        // The server answers before the body is in; keep sending on the side, as a real client would.
        var sending = Task.Run(() =>
        {
            try
            {
                client.Send(body);
                client.ShutdownSend();
            }
            catch (SocketException)
            {
                // The server may stop reading once it has answered; that is its right.
            }
        });
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("ignored POST /ignore", response.Text);
        Assert.Equal("close", response.Header("Connection"));
        await sending.WaitAsync(Patience);
        Assert.True(client.ClosedByServer(Patience));
    }
}
