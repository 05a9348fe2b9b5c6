using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Core.Protocol;
using Serverless.Lambda.Events;
using Serverless.Lambda.Http;
using Serverless.Lambda.Tests.Events;

namespace Serverless.Lambda.Tests.Http;

public sealed class HttpEventAdapterTests
{
    private ProtocolRequest? _seen;
    private byte[] _seenBody = [];

    /// <summary>Stands in for the protocol handler: records the request and answers with what the test scripts.</summary>
    private HttpEventAdapter Adapter(Action<IProtocolResponse>? respond = null, int maxDocumentBytes = 6 * 1024 * 1024) => new(async (request, response, ct) =>
    {
        _seen = request;
        using var copy = new MemoryStream();
        await request.Body.CopyToAsync(copy, ct);
        _seenBody = copy.ToArray();
        if (respond is null)
        {
            response.Body.Write("{\"ok\":true}"u8);
        }
        else
        {
            respond(response);
        }
    }, maxDocumentBytes);

    private static async Task<JsonElement> Handle(HttpEventAdapter adapter, EventKind kind, string payload)
    {
        var output = new ArrayBufferWriter<byte>();
        await adapter.HandleAsync(kind, Encoding.UTF8.GetBytes(payload), output, default);
        return JsonDocument.Parse(output.WrittenMemory).RootElement.Clone();
    }

    [Fact]
    public async Task HttpApiV2_NamedStage_IsStrippedFromTheRouteAndTheBodyPassesThrough()
    {
        using var adapter = Adapter();
        var doc = await Handle(adapter, EventKind.HttpApiV2, EventSamples.HttpApiV2("POST", "/prod/v2/models/m/infer", "{\"inputs\":[]}"));

        Assert.Equal("POST", _seen!.Method);
        Assert.Equal("/v2/models/m/infer", _seen.Path);
        Assert.Equal("application/json", _seen.ContentType);
        Assert.Equal("{\"inputs\":[]}", Encoding.UTF8.GetString(_seenBody));
        Assert.Equal(200, doc.GetProperty("statusCode").GetInt32());
        Assert.Equal("{\"ok\":true}", doc.GetProperty("body").GetString());
        Assert.False(doc.GetProperty("isBase64Encoded").GetBoolean());
        Assert.Equal("application/json", doc.GetProperty("headers").GetProperty("Content-Type").GetString());
    }

    [Fact]
    public async Task RestApiV1_PathHasNoStage_AndHeadersComeBackAsMultiValueHeaders()
    {
        using var adapter = Adapter(r => { r.SetHeader("Retry-After", "5"); r.StatusCode = 503; r.Body.Write("{\"error\":\"loading\"}"u8); });
        var doc = await Handle(adapter, EventKind.RestApiV1, EventSamples.RestApiV1("GET", "/v2/health/ready", null));

        Assert.Equal("GET", _seen!.Method);
        Assert.Equal("/v2/health/ready", _seen.Path);
        Assert.Equal("parameter1=value1&parameter1=value2&parameter2=value", _seen.Query);
        Assert.Equal(503, doc.GetProperty("statusCode").GetInt32());
        Assert.Equal("5", doc.GetProperty("multiValueHeaders").GetProperty("Retry-After")[0].GetString());
        Assert.Equal("5", doc.GetProperty("headers").GetProperty("Retry-After").GetString());
    }

    [Fact]
    public async Task FunctionUrl_Base64Body_IsDecodedAndBinaryResponsesAreBase64WithTheFlag()
    {
        var binary = new byte[] { 0, 1, 2, 250, 251, 252, (byte)'{' };
        using var adapter = Adapter(r =>
        {
            r.ContentType = ProtocolContentTypes.OctetStream;
            r.SetHeader(ProtocolContentTypes.InferenceHeaderContentLength, "2");
            r.Body.Write(binary);
        });
        var payload = EventSamples.FunctionUrl("POST", "/v2/models/m/infer", Convert.ToBase64String(binary), base64: true, contentType: "application/octet-stream");
        var doc = await Handle(adapter, EventKind.FunctionUrl, payload);

        Assert.Equal(binary, _seenBody);
        Assert.Equal("application/octet-stream", _seen!.ContentType);
        Assert.True(doc.GetProperty("isBase64Encoded").GetBoolean());
        Assert.Equal(binary, Convert.FromBase64String(doc.GetProperty("body").GetString()!));
        Assert.Equal("2", doc.GetProperty("headers").GetProperty("Inference-Header-Content-Length").GetString());
    }

    [Fact]
    public async Task HttpApiV2_SetCookieHeaders_GoToTheCookiesArray()
    {
        using var adapter = Adapter(r => { r.SetHeader("Set-Cookie", "a=1"); r.Body.Write("{}"u8); });
        var doc = await Handle(adapter, EventKind.HttpApiV2, EventSamples.HttpApiV2("GET", "/v2", null, stage: "$default"));

        Assert.Equal("a=1", doc.GetProperty("cookies")[0].GetString());
        Assert.False(doc.GetProperty("headers").TryGetProperty("Set-Cookie", out _));
    }

    [Fact]
    public async Task InvalidBase64Body_IsA400ThatNeverReachesTheHandler()
    {
        using var adapter = Adapter();
        var doc = await Handle(adapter, EventKind.HttpApiV2, EventSamples.HttpApiV2("POST", "/v2/models/m/infer", "@@not base64@@", base64: true));

        Assert.Null(_seen);
        Assert.Equal(400, doc.GetProperty("statusCode").GetInt32());
        Assert.Contains("base64", doc.GetProperty("body").GetString());
    }

    [Fact]
    public async Task ResponseOverTheCapAfterBase64Growth_BecomesA413PointingToBinaryOutputsAndBatchScoring()
    {
        // 90 KB of binary is 120 KB as base64: over a 100 KB cap only because of the encoding.
        using var adapter = Adapter(r => { r.ContentType = ProtocolContentTypes.OctetStream; r.Body.Write(new byte[90 * 1024]); }, maxDocumentBytes: 100 * 1024);
        var doc = await Handle(adapter, EventKind.HttpApiV2, EventSamples.HttpApiV2("POST", "/v2/models/m/infer", "{}"));

        Assert.Equal(413, doc.GetProperty("statusCode").GetInt32());
        Assert.False(doc.GetProperty("isBase64Encoded").GetBoolean());
        var error = JsonDocument.Parse(doc.GetProperty("body").GetString()!).RootElement.GetProperty("error").GetString();
        Assert.Contains("base64", error);
        Assert.Contains("binary_data_output", error);
        Assert.Contains("batch scoring", error);
    }

    [Theory]
    [InlineData("/prod/v2/models/m", "prod", "/v2/models/m")]
    [InlineData("/v2/models/m", "$default", "/v2/models/m")]
    [InlineData("/v2/v2/health/live", "v2", "/v2/health/live")]
    [InlineData("/v2/health/live", "v2", "/v2/health/live")]
    [InlineData("/production/v2", "prod", "/production/v2")]
    [InlineData("/prod", "prod", "/prod")]
    public void StripStage_RemovesOnlyAStagePrefixThatLeavesAProtocolRoute(string path, string stage, string expected) =>
        Assert.Equal(expected, HttpEventAdapter.StripStage(path, stage));
}
