using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Serverless.Cli.Commands;
using Serverless.Cli.Hosting;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>The real serve host twice, once behind each HTTP server, over the repository's manifests and store.</summary>
public sealed class BothEdgesFixture : IAsyncLifetime
{
    private readonly Dictionary<string, ServeHost> _hosts = [];
    private readonly Dictionary<string, HttpClient> _clients = [];

    public StringWriter Output { get; } = new();

    public HttpClient Client(string kind) => _clients[kind];

    public Uri BaseAddress(string kind) => _hosts[kind].BaseAddress;

    public async Task InitializeAsync()
    {
        TestEnvironment.EnsureOrtLibrary();
        foreach (var (name, kind) in new[] { ("sockets", HttpServerKind.Sockets), ("kestrel", HttpServerKind.Kestrel) })
        {
            var options = ServerFixture.RepoServeOptions() with { HttpServer = kind, MaxRequestBytes = ServerFixture.RequestLimitBytes };
            var host = await ServeHost.StartAsync(options, new CliConsole(Output, Output, isTerminal: false), CancellationToken.None);
            _hosts[name] = host;
            _clients[name] = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        foreach (var host in _hosts.Values)
        {
            await host.DisposeAsync();
        }
    }
}

/// <summary>
/// The serve host behind the socket server (the default) and behind Kestrel answers the same: status,
/// content type and body, for health, an inference, and the protocol's and the edge's refusals.
/// </summary>
public sealed class ServeEdgeParityTests : IClassFixture<BothEdgesFixture>
{
    private readonly BothEdgesFixture _edges;

    public ServeEdgeParityTests(BothEdgesFixture edges)
    {
        _edges = edges;
    }

    public static TheoryData<string> Kinds => new() { "sockets", "kestrel" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task HealthReady_Is200(string kind)
    {
        using var response = await _edges.Client(kind).GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var live = await _edges.Client(kind).GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task TextDirectionInfer_Is200WithTwoProbabilities(string kind)
    {
        var (status, contentType, body) = await PostAsync(kind, "/v2/models/text-direction/infer", InferRequests.TextDirection());
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Equal("application/json", contentType);
        using var document = JsonDocument.Parse(body);
        var output = document.RootElement.GetProperty("outputs")[0];
        Assert.Equal(new long[] { 1, 2 }, output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        var sum = output.GetProperty("data").EnumerateArray().Sum(e => e.GetDouble());
        Assert.InRange(sum, 0.999, 1.001);
    }

    [Fact]
    public async Task TextDirectionInfer_BothEdgesAnswerTheSameBytes()
    {
        var request = InferRequests.TextDirection(seed: 7);
        var sockets = await PostAsync("sockets", "/v2/models/text-direction/infer", request);
        var kestrel = await PostAsync("kestrel", "/v2/models/text-direction/infer", request);
        Assert.Equal(HttpStatusCode.OK, sockets.Status);
        Assert.Equal(kestrel, sockets);
    }

    [Theory]
    [InlineData("/v2/models/text-direction/infer", "{\"inputs\": [ {\"name\": \"x\", ", HttpStatusCode.BadRequest)]
    [InlineData("/v2/models/no-such-model/infer", "{}", HttpStatusCode.NotFound)]
    [InlineData("/v1/nothing", "{}", HttpStatusCode.NotFound)]
    public async Task Refusals_AreTheSameOnBothEdges(string path, string json, HttpStatusCode expected)
    {
        var sockets = await PostAsync("sockets", path, json);
        var kestrel = await PostAsync("kestrel", path, json);
        Assert.Equal(expected, sockets.Status);
        Assert.Equal("application/json", sockets.ContentType);
        using (var document = JsonDocument.Parse(sockets.Body))
        {
            Assert.False(string.IsNullOrWhiteSpace(document.RootElement.GetProperty("error").GetString()));
        }

        Assert.Equal(kestrel, sockets);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ChunkedBodyOverTheLimit_Is413AndTheEdgeKeepsServing(string kind)
    {
        var bytes = new byte[BothEdgesLimit * 2];
        bytes.AsSpan().Fill((byte)' ');
        "{\"inputs\":["u8.CopyTo(bytes);
        using var content = new StreamContent(new MemoryStreamWithoutLength(bytes));
        content.Headers.ContentType = new("application/json");
        using var response = await _edges.Client(kind).PostAsync("/v2/models/text-direction/infer", content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var live = await _edges.Client(kind).GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RawHttp10Request_IsAnsweredAndClosed(string kind)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _edges.BaseAddress(kind).Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync("GET /v2/health/live HTTP/1.0\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var text = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\nContent-Length: ", text, StringComparison.OrdinalIgnoreCase);
    }

    private const long BothEdgesLimit = ServerFixture.RequestLimitBytes;

    private async Task<(HttpStatusCode Status, string? ContentType, string Body)> PostAsync(string kind, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _edges.Client(kind).PostAsync(path, content);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A body HttpClient cannot know the length of, so it sends it chunked.</summary>
    private sealed class MemoryStreamWithoutLength(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;
    }
}
