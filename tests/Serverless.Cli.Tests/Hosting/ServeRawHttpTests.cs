using System.Net;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// serve's HTTP edge (Kestrel under serve's limits) driven by raw bytes over loopback: malformed heads, the head,
/// header-count, request-line and body limits, malformed chunked bodies. Each refusal is a 4xx, the connection it
/// came on is closed where Kestrel closes it, and serve keeps answering other clients.
/// </summary>
public sealed class ServeRawHttpTests : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Patience = RawClient.Patience;
    private readonly ServerFixture _server;

    public ServeRawHttpTests(ServerFixture server)
    {
        _server = server;
    }

    private static string Get(string path, string extra = "") => $"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n";

    private RawClient Connect() => RawClient.Connect(_server.BaseAddress);

    /// <summary>A fresh connection gets a normal answer.</summary>
    private void AssertStillServing()
    {
        using var client = Connect();
        client.Send(Get("/v2/health/live", "Connection: close\r\n"));
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("{\"live\":true}", response.Text);
    }

    [Theory]
    [InlineData("GET /v2/health/live HTTP/2.0\r\nHost: test\r\n\r\n", 505)]                                   // a version HTTP/1.1 cannot speak
    [InlineData("GET /v2/health/live HTTP/1.1\r\n\r\n", 400)]                                                 // no Host
    [InlineData("GET /v2/health/live HTTP/1.1\r\nHost: test\r\nX-Folded: a\r\n b\r\n\r\n", 400)]             // obsolete line folding
    [InlineData("POST /v2/health/live HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400)] // two lengths
    [InlineData("POST /v2/health/live HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n", 400)]      // a body with no length
    [InlineData("POST /v2/health/live HTTP/1.1\r\nHost: test\r\nContent-Length: -5\r\n\r\n", 400)]
    [InlineData("GET /v2/health/live HTTP/1.1\r\nHost: test\r\nBad Header: x\r\n\r\n", 400)]                 // a space in a field name
    [InlineData("HELLO\r\n\r\n", 400)]                                                                         // not a request line
    [InlineData("GET /v2/health/live\0 HTTP/1.1\r\nHost: test\r\n\r\n", 400)]                                 // NUL in the target
    public void MalformedHead_Is4xxAndClosed_AndServeKeepsServing(string request, int status)
    {
        using (var client = Connect())
        {
            client.Send(request);
            var response = client.ReadResponse();
            Assert.Equal(status, response.Status);
            Assert.True(client.ClosedByServer(Patience), "the connection stayed open after a refused head");
        }

        AssertStillServing();
    }

    [Fact]
    public void HeadOverTheHeadersLimit_Is431AndServeKeepsServing()
    {
        using (var client = Connect())
        {
            client.Send(Get("/v2/health/live", "X-Big: " + new string('a', 40_000) + "\r\n"));
            Assert.Equal(431, client.ReadResponse().Status);
            Assert.True(client.ClosedByServer(Patience));
        }

        AssertStillServing();
    }

    [Fact]
    public void HeadUnderTheHeadersLimit_IsServed()
    {
        using var client = Connect();
        client.Send(Get("/v2/health/live", "X-Big: " + new string('a', 30_000) + "\r\n"));
        Assert.Equal(200, client.ReadResponse().Status);
    }

    [Fact]
    public void MoreHeadersThanTheCountLimit_Is431()
    {
        using (var client = Connect())
        {
            client.Send(Get("/v2/health/live", string.Concat(Enumerable.Range(0, 101).Select(i => $"X-H{i}: v\r\n"))));
            Assert.Equal(431, client.ReadResponse().Status);
            Assert.True(client.ClosedByServer(Patience));
        }

        AssertStillServing();
    }

    [Fact]
    public void RequestLineOverItsLimit_Is414()
    {
        using (var client = Connect())
        {
            client.Send(Get("/v2/models/" + new string('m', 9_000)));
            Assert.Equal(414, client.ReadResponse().Status);
        }

        AssertStillServing();
    }

    [Fact]
    public void DeclaredBodyOverTheLimit_Is413WithTheProtocolsError_BeforeTheBodyIsSent()
    {
        using (var client = Connect())
        {
            // Only the head: the refusal must not wait for a body the server will not read.
            client.Send($"POST /v2/models/text-direction/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {ServerFixture.RequestLimitBytes + 1}\r\n\r\n");
            var response = client.ReadResponse();
            Assert.Equal(413, response.Status);
            Assert.Contains($"over the limit of {ServerFixture.RequestLimitBytes} bytes", response.Error, StringComparison.Ordinal);
        }

        AssertStillServing();
    }

    [Theory]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n")]              // a size that is not hexadecimal
    [InlineData("5\r\nhelloXY\r\n0\r\n\r\n")]             // a chunk longer than its size
    [InlineData("1000000000000000\r\nabc\r\n0\r\n\r\n")]  // a size past any limit
    public void MalformedChunkedBody_Is400WithTheProtocolsError_AndServeKeepsServing(string chunks)
    {
        using (var client = Connect())
        {
            client.Send("POST /v2/models/text-direction/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
            var response = client.ReadResponse();
            Assert.Equal(400, response.Status);
            Assert.False(string.IsNullOrWhiteSpace(response.Error));
            Assert.True(client.ClosedByServer(Patience), "the connection stayed open after a malformed body");
        }

        AssertStillServing();
    }

    [Fact]
    public void BodyShorterThanItsLength_ThenHalfClose_IsDroppedAndServeKeepsServing()
    {
        // Kestrel takes the end of the client's stream mid-body for a client that left: no answer, the connection closes.
        using (var client = Connect())
        {
            client.Send("POST /v2/models/text-direction/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"inputs\":");
            client.ShutdownSend();
            Assert.True(client.ClosedByServer(Patience), "the connection stayed open after the body was cut short");
        }

        AssertStillServing();
    }

    [Fact]
    public void Http10Request_IsAnsweredAndClosed()
    {
        using var client = Connect();
        client.Send("GET /v2/health/live HTTP/1.0\r\n\r\n");
        var response = client.ReadResponse();
        Assert.Equal(200, response.Status);
        Assert.Equal("{\"live\":true}", response.Text);
        Assert.True(client.ClosedByServer(Patience));
    }

    [Fact]
    public void KeepAlive_ThreeRequestsOnOneConnection_ThenPipelinedTwo()
    {
        using var client = Connect();
        for (var i = 0; i < 3; i++)
        {
            client.Send(Get("/v2/health/live"));
            Assert.Equal("{\"live\":true}", client.ReadResponse().Text);
        }

        client.Send(Get("/v2/health/live") + Get("/v2/no-such-route"));
        Assert.Equal(200, client.ReadResponse().Status);
        var second = client.ReadResponse();
        Assert.Equal(404, second.Status);
        Assert.Contains("/v2/no-such-route", second.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimit_SentByHttpClient_Is413AndServeKeepsServing()
    {
        var bytes = new byte[ServerFixture.RequestLimitBytes * 2];
        bytes.AsSpan().Fill((byte)' ');
        "{\"inputs\":["u8.CopyTo(bytes);
        using var content = new StreamContent(new MemoryStreamWithoutLength(bytes));
        content.Headers.ContentType = new("application/json");
        using var response = await _server.Client.PostAsync("/v2/models/text-direction/infer", content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains($"passed the limit of {ServerFixture.RequestLimitBytes} bytes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var live = await _server.Client.GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    /// <summary>A body HttpClient cannot know the length of, so it sends it chunked.</summary>
    private sealed class MemoryStreamWithoutLength(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;
    }
}
