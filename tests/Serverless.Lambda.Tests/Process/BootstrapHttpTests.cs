using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Lambda.Emulator;
using Serverless.Lambda.Tests.Events;

namespace Serverless.Lambda.Tests.Process;

/// <summary>The built bootstrap serving text-direction through the Runtime API, real ONNX Runtime, real model.</summary>
public sealed class BootstrapHttpTests(BootstrapFixture fixture) : IClassFixture<BootstrapFixture>
{
    private BootstrapHost Host => fixture.Host;

    private static float[] Softmax(JsonElement responseBody)
    {
        var output = responseBody.GetProperty("outputs")[0];
        Assert.Equal("softmax_0.tmp_0", output.GetProperty("name").GetString());
        Assert.Equal([1L, 2L], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        return [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
    }

    private static JsonElement Body(JsonElement document) => JsonDocument.Parse(document.GetProperty("body").GetString()!).RootElement.Clone();

    [Fact]
    public async Task HttpApiV2_InferOnANamedStage_ReturnsTheModelsSoftmax()
    {
        var doc = await Host.InvokeJsonAsync(EventSamples.HttpApiV2("POST", "/prod/v2/models/text-direction/infer", InferRequests.Json(1, "req-1")));

        Assert.Equal(200, doc.GetProperty("statusCode").GetInt32());
        var body = Body(doc);
        Assert.Equal("req-1", body.GetProperty("id").GetString());
        Assert.Equal("text-direction", body.GetProperty("model_name").GetString());
        var p = Softmax(body);
        Assert.InRange(p[0] + p[1], 0.999f, 1.001f);
    }

    [Fact]
    public async Task RestApiV1_AndFunctionUrl_GiveTheSameAnswerAsHttpApi()
    {
        var v2 = Softmax(Body(await Host.InvokeJsonAsync(EventSamples.HttpApiV2("POST", "/prod/v2/models/text-direction/infer", InferRequests.Json(2)))));
        var v1 = Softmax(Body(await Host.InvokeJsonAsync(EventSamples.RestApiV1("POST", "/v2/models/text-direction/infer", InferRequests.Json(2)))));
        var url = Softmax(Body(await Host.InvokeJsonAsync(EventSamples.FunctionUrl("POST", "/v2/models/text-direction/infer", InferRequests.Json(2)))));

        Assert.Equal(v2, v1);
        Assert.Equal(v2, url);
    }

    [Fact]
    public async Task BinaryExtension_ThroughBase64Bodies_MatchesTheJsonAnswer()
    {
        var (body, headerLength) = InferRequests.Binary(3);
        var payload = LambdaFrontDoor.BuildEvent("POST", "/v2/models/text-direction/infer", "",
            [new("Content-Type", "application/octet-stream"), new("Inference-Header-Content-Length", headerLength.ToString())], body, "application/octet-stream");

        var doc = await Host.InvokeJsonAsync(Encoding.UTF8.GetString(payload));

        Assert.Equal(200, doc.GetProperty("statusCode").GetInt32());
        Assert.True(doc.GetProperty("isBase64Encoded").GetBoolean());
        var bytes = Convert.FromBase64String(doc.GetProperty("body").GetString()!);
        var jsonLength = int.Parse(doc.GetProperty("headers").GetProperty("Inference-Header-Content-Length").GetString()!);
        var header = JsonDocument.Parse(bytes.AsMemory(0, jsonLength)).RootElement;
        Assert.Equal(8, header.GetProperty("outputs")[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        float[] binary = [BitConverter.ToSingle(bytes, jsonLength), BitConverter.ToSingle(bytes, jsonLength + 4)];
        var json = Softmax(Body(await Host.InvokeJsonAsync(EventSamples.HttpApiV2("POST", "/prod/v2/models/text-direction/infer", InferRequests.Json(3)))));
        Assert.Equal(json, binary);
    }

    [Fact]
    public async Task RequestForAnotherModel_Is404NamingTheModelThisFunctionServes()
    {
        var doc = await Host.InvokeJsonAsync(EventSamples.HttpApiV2("POST", "/prod/v2/models/text-recognition/infer", "{\"inputs\":[]}"));

        Assert.Equal(404, doc.GetProperty("statusCode").GetInt32());
        var error = Body(doc).GetProperty("error").GetString();
        Assert.Contains("text-direction", error);
    }

    [Fact]
    public async Task BadInput_IsA400WithTheTensorNamed_NeverAnInvocationError()
    {
        var doc = await Host.InvokeJsonAsync(EventSamples.HttpApiV2("POST", "/prod/v2/models/text-direction/infer",
            "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,48,192],\"data\":[1,2,3]}]}"));

        Assert.Equal(400, doc.GetProperty("statusCode").GetInt32());
        Assert.Contains("'x'", Body(doc).GetProperty("error").GetString());
    }

    [Fact]
    public async Task HandlerCrash_IsReportedAsAnInvocationError_AndTheNextInvocationStillSucceeds()
    {
        var crash = await Host.InvokeAsync("{\"not\":\"an event this function knows\"}");
        Assert.True(crash.IsError);
        Assert.StartsWith("Function.", crash.ErrorType);
        using (var error = JsonDocument.Parse(crash.Body))
        {
            Assert.Contains("Unrecognized event", error.RootElement.GetProperty("errorMessage").GetString());
        }

        var doc = await Host.InvokeJsonAsync(EventSamples.HttpApiV2("GET", "/prod/v2/health/ready", null));
        Assert.Equal(200, doc.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task S3TestEvent_IsAcknowledgedAndIgnored()
    {
        var doc = await Host.InvokeJsonAsync(EventSamples.S3TestEvent("bucket"));
        Assert.Equal("s3:TestEvent", doc.GetProperty("ignored").GetString());
    }

    [Fact]
    public async Task EveryInvocation_LogsOneStructuredLineWithEmbeddedMetricsAndNoPayload()
    {
        var request = InferRequests.Json(4, "secret-id-never-logged");
        await Host.InvokeJsonAsync(EventSamples.HttpApiV2("POST", "/prod/v2/models/text-direction/infer", request));
        await Task.Delay(200); // stdout is read asynchronously

        var lines = Host.Process.StandardOutput;
        Assert.DoesNotContain(lines, l => l.Contains("secret-id-never-logged", StringComparison.Ordinal));
        var logs = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var cold = logs.Where(l => l.GetProperty("coldStart").GetBoolean()).ToList();
        Assert.Single(cold);
        var infer = logs.Last(l => l.GetProperty("event").GetString() == "HttpApiV2" && l.GetProperty("status").GetInt32() == 200);
        Assert.Equal("text-direction", infer.GetProperty("Model").GetString());
        Assert.StartsWith("Root=1-5759e988", infer.GetProperty("traceId").GetString());
        Assert.True(infer.GetProperty("runMs").GetDouble() > 0);
        Assert.Equal(1, infer.GetProperty("runs").GetInt64());
        var metrics = infer.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
        Assert.Equal("Serverless/Inference", metrics.GetProperty("Namespace").GetString());
        Assert.Contains(metrics.GetProperty("Metrics").EnumerateArray(), m => m.GetProperty("Name").GetString() == "InferenceTime");
        Assert.Contains(logs, l => l.TryGetProperty("ErrorType", out var type) && type.GetString() == "Http404" && l.GetProperty("Errors").GetInt32() == 1);
    }

    [Fact]
    public async Task FrontDoor_TurnsPlainHttpIntoHttpApiEvents()
    {
        await using var door = await LambdaFrontDoor.StartAsync(Host.Emulator);
        using var http = new HttpClient { BaseAddress = door.Url };

        using var live = await http.GetAsync("/v2/health/live");
        Assert.Equal(200, (int)live.StatusCode);
        using var content = new StringContent(InferRequests.Json(5), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var infer = await http.PostAsync("/v2/models/text-direction/infer", content);
        Assert.Equal(200, (int)infer.StatusCode);
        var p = Softmax(JsonDocument.Parse(await infer.Content.ReadAsStringAsync()).RootElement);
        Assert.InRange(p[0] + p[1], 0.999f, 1.001f);
    }
}
