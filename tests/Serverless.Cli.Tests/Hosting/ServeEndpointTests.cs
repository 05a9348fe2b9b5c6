using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// The serve host's HTTP surface over real Kestrel on loopback: health, metadata and readiness, and every
/// kind of bad request answered with the right status and a useful message, after which the server must
/// still answer a health check.
/// </summary>
public sealed class ServeEndpointTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _server;

    public ServeEndpointTests(ServerFixture server)
    {
        _server = server;
    }

    private HttpClient Client => _server.Client;

    [Fact]
    public async Task HealthLive_Returns200()
    {
        using var response = await Client.GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task HealthReady_WithLazyModels_Returns200()
    {
        using var response = await Client.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ServerMetadata_NamesServerAndExtensions()
    {
        using var document = await GetJsonAsync("/v2", HttpStatusCode.OK);
        Assert.Equal("serverless", document.RootElement.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(document.RootElement.GetProperty("version").GetString()));
        var extensions = document.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("binary_tensor_data", extensions);
    }

    [Fact]
    public async Task ModelMetadata_ListsDeclaredInputsAndOutputs()
    {
        using var document = await GetJsonAsync("/v2/models/text-direction", HttpStatusCode.OK);
        var root = document.RootElement;
        Assert.Equal("text-direction", root.GetProperty("name").GetString());
        var input = root.GetProperty("inputs")[0];
        Assert.Equal("x", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal(new long[] { -1, 3, -1, -1 }, input.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        Assert.Equal("softmax_0.tmp_0", root.GetProperty("outputs")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task ModelReady_AfterAnInference_Returns200()
    {
        using (var infer = await PostJsonAsync("/v2/models/text-direction/infer", InferRequests.TextDirection()))
        {
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        }

        using var ready = await Client.GetAsync("/v2/models/text-direction/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Infer_UnknownModel_Returns404NamingTheModel()
    {
        using var response = await PostJsonAsync("/v2/models/no-such-model/infer", InferRequests.TextDirection());
        var error = await ErrorAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("no-such-model", error);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Infer_MalformedJson_Returns400()
    {
        using var response = await PostJsonAsync("/v2/models/text-direction/infer", "{\"inputs\": [ {\"name\": \"x\", ");
        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.False(string.IsNullOrWhiteSpace(error));
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Infer_WrongShape_Returns400NamingTheTensor()
    {
        // Height and width are dynamic, the channel count is not.
        var request = InferRequests.Single("x", [1, 2, 48, 192], new float[2 * 48 * 192]);
        using var response = await PostJsonAsync("/v2/models/text-direction/infer", request);
        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("'x'", error);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Infer_BodyOverTheLimit_Returns413()
    {
        var huge = Encoding.UTF8.GetBytes(InferRequests.Single("x", [8, 3, 48, 192], new SeededValues(9).Floats(3 * 48 * 192 * 8, -1, 1)));
        Assert.True(huge.Length > ServerFixture.RequestLimitBytes);

        // A raw client: the server may answer 413 and stop reading before the body is all sent, which an HttpClient
        // reports as a broken pipe instead of the answer.
        using var client = RawClient.Connect(_server.BaseAddress);
        client.Send($"POST /v2/models/text-direction/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {huge.Length}\r\n\r\n");
        try
        {
            client.Send(huge.AsSpan(0, (int)(ServerFixture.RequestLimitBytes / 2)));
        }
        catch (SocketException)
        {
            // Refused before the first half arrived.
        }

        var response = client.ReadResponse();
        Assert.True(response.Status == 413, response.Text);
        Assert.Contains("\"error\"", response.Text, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Infer_ChunkedBodyOverTheLimit_Returns413WhileStreaming()
    {
        // No Content-Length: the handler can only find out by counting bytes as it reads.
        var bytes = new byte[ServerFixture.RequestLimitBytes * 2];
        bytes.AsSpan().Fill((byte)' ');
        "{\"inputs\":["u8.CopyTo(bytes);
        using var content = new StreamContent(new NonSeekableStream(bytes));
        content.Headers.ContentType = new("application/json");
        using var response = await Client.PostAsync("/v2/models/text-direction/infer", content);
        await ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("GET", "/v2/models/text-direction/infer")]
    [InlineData("DELETE", "/v2/models/text-direction")]
    [InlineData("POST", "/v2/health/live")]
    public async Task WrongMethod_Returns405(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("/v2/models/..%2F..%2Fetc%2Fpasswd/infer")]
    [InlineData("/v2/models/%2e%2e/infer")]
    [InlineData("/v2/models/text-direction%00/infer")]
    [InlineData("/v2/models/text-direction/versions/..%2F1/infer")]
    public async Task Infer_PathTricks_AreRefusedWith4xx(string path)
    {
        using var response = await PostJsonAsync(path, InferRequests.TextDirection());
        var status = (int)response.StatusCode;
        Assert.True(status is 400 or 404, $"{path}: HTTP {status}");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task RawDotSegments_NeverReachAnotherRoute()
    {
        // HttpClient would normalize "..", so send the request line by hand.
        var response = await RawRequestAsync("GET /v2/models/../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Matches("^HTTP/1.1 (400|404) ", response);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task UnknownRoute_Returns404()
    {
        using var response = await Client.GetAsync("/v1/models");
        await ErrorAsync(response, HttpStatusCode.NotFound);
    }

    private async Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        await Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task<JsonDocument> GetJsonAsync(string path, HttpStatusCode expected)
    {
        using var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{path}: HTTP {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body);
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("error").GetString()!;
    }

    private async Task AssertStillServingAsync()
    {
        using var response = await Client.GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<string> RawRequestAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _server.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync();
    }

    /// <summary>A stream without a length, so HttpClient sends the body chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
