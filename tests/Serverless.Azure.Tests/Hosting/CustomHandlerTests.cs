using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Azure.Tests.Fixtures;
using Xunit.Abstractions;

namespace Serverless.Azure.Tests.Hosting;

/// <summary>The real handler process, driven as the Functions host drives it.</summary>
public sealed class CustomHandlerTests(CustomHandlerFixture handler, ITestOutputHelper output) : IClassFixture<CustomHandlerFixture>
{
    [Fact]
    public void FirstRequest_FromAzurite_IsMeasured()
    {
        output.WriteLine($"handler start to first health answer: {handler.StartMilliseconds:F0} ms; first infer (download + verify + load + run): {handler.FirstInferMilliseconds:F0} ms");
        Console.WriteLine($"[azure-handler] start {handler.StartMilliseconds:F0} ms; first infer through the custom handler {handler.FirstInferMilliseconds:F0} ms");
        Assert.True(handler.FirstInferMilliseconds > 0);
    }

    [Fact]
    public async Task ForwardedInfer_WithFunctionKeyInQuery_ReturnsTheTwoClassSoftmax()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(handler.BaseUri, "v2/models/text-direction/infer?code=abc123"))
        {
            Content = Payloads.InferContent(),
        };
        request.Headers.Add("x-functions-key", "abc123");

        using var response = await handler.Http.SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var doc = JsonDocument.Parse(body);
        var result = Assert.Single(doc.RootElement.GetProperty("outputs").EnumerateArray());
        Assert.Equal("softmax_0.tmp_0", result.GetProperty("name").GetString());
        Assert.Equal([1, 2], result.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var probabilities = result.GetProperty("data").EnumerateArray().Select(d => d.GetDouble()).ToArray();
        Assert.Equal(1.0, probabilities.Sum(), precision: 4);
    }

    [Fact]
    public async Task ForwardedInfer_WithWrongShape_ReturnsBadRequestNamingTheTensor()
    {
        var json = """{"inputs":[{"name":"x","shape":[1,3,48],"datatype":"FP32","data":[1,2,3]}]}""";

        using var response = await handler.Http.PostAsync(new Uri(handler.BaseUri, "v2/models/text-direction/infer"), new StringContent(json, Encoding.UTF8, "application/json"));

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"error\"", body);
        Assert.Contains("'x'", body.Replace("\\u0027", "'"));
    }

    [Fact]
    public async Task ForwardedMetadataAndReadiness_AnswerAsTheProtocolSays()
    {
        using var metadata = await handler.Http.GetAsync(new Uri(handler.BaseUri, "v2/models/text-direction"));
        using var ready = await handler.Http.GetAsync(new Uri(handler.BaseUri, "v2/models/text-direction/ready"));
        using var unknown = await handler.Http.GetAsync(new Uri(handler.BaseUri, "v2/models/no-such-model"));

        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        Assert.Contains("\"text-direction\"", await metadata.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task PathOutsideV2ThatIsNotAnInvocation_Is404WithAnErrorBody()
    {
        using var response = await handler.Http.GetAsync(new Uri(handler.BaseUri, "api/whatever"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("/v2/", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Invocation_OfAnUnknownFunction_Is404WithLogsListingTheFunctions()
    {
        using var response = await handler.InvokeAsync("nope", """{"Data":{},"Metadata":{}}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var log = Assert.Single(doc.RootElement.GetProperty("Logs").EnumerateArray()).GetString();
        Assert.Contains("text-direction-batch", log);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("ReturnValue").ValueKind);
    }

    [Fact]
    public async Task Invocation_WithoutData_Is400WithALogSayingWhy()
    {
        using var response = await handler.InvokeAsync("text-direction-batch", """{"Metadata":{}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("Outputs").ValueKind);
        Assert.Contains("no Data object", doc.RootElement.GetProperty("Logs")[0].GetString());
    }

    [Fact]
    public async Task Invocation_WithMalformedJson_Is400()
    {
        using var response = await handler.InvokeAsync("text-direction-batch", "{not json");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("not a JSON object", doc.RootElement.GetProperty("Logs")[0].GetString());
    }
}
