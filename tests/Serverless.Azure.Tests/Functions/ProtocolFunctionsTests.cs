using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Serverless.Azure.Functions;
using Serverless.Azure.Tests.Fixtures;

namespace Serverless.Azure.Tests.Functions;

/// <summary>
/// The HTTP function class called in-process, as the worker calls it after ASP.NET Core routing: with a real
/// <see cref="DefaultHttpContext"/>, the models read from real Azurite and run in the real ONNX Runtime.
/// </summary>
public sealed class ProtocolFunctionsTests(FunctionAppFixture app) : IClassFixture<FunctionAppFixture>
{
    [Fact]
    public async Task Health_Live_Answers200WithoutLoadingAnyModel()
    {
        var functions = app.CreateProtocolFunctions();

        var (status, _, _) = await SendAsync(functions.HealthAsync, "GET", "/v2/health/live");

        Assert.Equal(200, status);
    }

    [Fact]
    public async Task Server_Metadata_NamesTheServerAndTheBinaryExtension()
    {
        var (status, body, _) = await SendAsync(app.CreateProtocolFunctions().ServerAsync, "GET", "/v2");

        Assert.Equal(200, status);
        var doc = JsonDocument.Parse(body).RootElement;
        Assert.Equal("serverless-azure", doc.GetProperty("name").GetString());
        Assert.Contains(doc.GetProperty("extensions").EnumerateArray(), e => e.GetString() == "binary_tensor_data");
    }

    [Fact]
    public async Task ModelMetadata_DescribesTheInputTensorFromTheManifest()
    {
        var (status, body, _) = await SendAsync(app.CreateProtocolFunctions().ProtocolAsync, "GET", "/v2/models/text-direction");

        Assert.Equal(200, status);
        var input = JsonDocument.Parse(body).RootElement.GetProperty("inputs")[0];
        Assert.Equal("x", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
    }

    [Fact]
    public async Task Infer_WithJson_DownloadsFromAzuriteAndAnswersTwoProbabilitiesThatSumToOne()
    {
        var (status, body, _) = await SendAsync(app.CreateProtocolFunctions().ProtocolAsync, "POST", "/v2/models/text-direction/infer", Encoding.UTF8.GetBytes(InferRequests.Json(1)), "application/json");

        Assert.True(status == 200, Encoding.UTF8.GetString(body));
        var output = JsonDocument.Parse(body).RootElement.GetProperty("outputs")[0];
        Assert.Equal([1, 2], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var p = output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(1f, p[0] + p[1], 3);
    }

    [Fact]
    public async Task Infer_WithTheBinaryExtension_AnswersBinaryOutputsEqualToTheJsonAnswer()
    {
        var functions = app.CreateProtocolFunctions();
        var (request, headerLength) = InferRequests.Binary(5);

        var (status, body, headers) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/models/text-direction/infer", request, "application/octet-stream",
            ("Inference-Header-Content-Length", headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var (_, jsonBody, _) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/models/text-direction/infer", Encoding.UTF8.GetBytes(InferRequests.Json(5)), "application/json");

        Assert.True(status == 200, Encoding.UTF8.GetString(body));
        var jsonLength = int.Parse(headers["Inference-Header-Content-Length"]!, System.Globalization.CultureInfo.InvariantCulture);
        var header = JsonDocument.Parse(body.AsMemory(0, jsonLength)).RootElement;
        Assert.Equal(8, header.GetProperty("outputs")[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        float[] binary = [BitConverter.ToSingle(body, jsonLength), BitConverter.ToSingle(body, jsonLength + 4)];
        var json = JsonDocument.Parse(jsonBody).RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(json, binary);
    }

    [Fact]
    public async Task RepositoryIndex_ListsEveryModelOfTheCatalogWithItsState()
    {
        var (status, body, _) = await SendAsync(app.CreateProtocolFunctions().ProtocolAsync, "POST", "/v2/repository/index", "{}"u8.ToArray(), "application/json");

        Assert.Equal(200, status);
        var names = JsonDocument.Parse(body).RootElement.EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToList();
        Assert.Contains("text-direction", names);
        Assert.Contains("text-recognition", names);
    }

    [Fact]
    public async Task RepositoryLoad_ThenModelReady_Answers200()
    {
        var functions = app.CreateProtocolFunctions();

        var (load, loadBody, _) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/repository/models/text-direction/load", [], "application/json");
        var (ready, _, _) = await SendAsync(functions.ProtocolAsync, "GET", "/v2/models/text-direction/ready");

        Assert.True(load == 200, Encoding.UTF8.GetString(loadBody));
        Assert.Equal(200, ready);
    }

    [Fact]
    public async Task Infer_WithAWrongShape_Answers400NamingTheTensorAndTheExpectedShape()
    {
        var body = Encoding.UTF8.GetBytes(InferRequests.Json(1, shape: [1, 3, 48]));

        var (status, answer, _) = await SendAsync(app.CreateProtocolFunctions().ProtocolAsync, "POST", "/v2/models/text-direction/infer", body, "application/json");

        Assert.Equal(400, status);
        var error = JsonDocument.Parse(answer).RootElement.GetProperty("error").GetString();
        Assert.Contains("'x'", error);
        Assert.Contains("text-direction", error);
    }

    [Fact]
    public async Task Infer_WithTruncatedJson_Answers400AndTheNextRequestIsServed()
    {
        var functions = app.CreateProtocolFunctions();

        var (bad, _, _) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/models/text-direction/infer", "{\"inputs\":[{\"name\":"u8.ToArray(), "application/json");
        var (good, _, _) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/models/text-direction/infer", Encoding.UTF8.GetBytes(InferRequests.Json(2)), "application/json");

        Assert.Equal(400, bad);
        Assert.Equal(200, good);
    }

    [Fact]
    public async Task PerModelApp_WithModelName_Answers404ForAnotherModelNamingTheOneItServes()
    {
        var functions = app.CreateProtocolFunctions(new Dictionary<string, string?> { ["MODEL_NAME"] = "text-direction" });

        var (status, body, _) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/models/text-recognition/infer", "{\"inputs\":[]}"u8.ToArray(), "application/json");

        Assert.Equal(404, status);
        Assert.Contains("text-direction", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task App_WithAnInvalidSetting_Answers500NamingTheSettingOnEveryRoute()
    {
        var functions = app.CreateProtocolFunctions(new Dictionary<string, string?> { ["MODEL_NAME"] = "Not A Model!" });

        var (health, healthBody, _) = await SendAsync(functions.HealthAsync, "GET", "/v2/health/ready");
        var (infer, inferBody, _) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/models/text-direction/infer", Encoding.UTF8.GetBytes(InferRequests.Json(1)), "application/json");

        Assert.Equal(500, health);
        Assert.Equal(500, infer);
        Assert.Contains("MODEL_NAME", JsonDocument.Parse(healthBody).RootElement.GetProperty("error").GetString());
        Assert.Contains("MODEL_NAME", JsonDocument.Parse(inferBody).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task App_WithAStoreWhoseContainerIsMissing_Answers404NamingTheContainerAndKeepsServing()
    {
        var functions = app.CreateProtocolFunctions(new Dictionary<string, string?> { ["MODEL_STORE"] = "azblob://no-such-container/store" });

        var (first, body, _) = await SendAsync(functions.ProtocolAsync, "POST", "/v2/models/text-direction/infer", Encoding.UTF8.GetBytes(InferRequests.Json(1)), "application/json");
        var (live, _, _) = await SendAsync(functions.HealthAsync, "GET", "/v2/health/live");

        Assert.Equal(404, first);
        Assert.Contains("no-such-container", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        Assert.Equal(200, live);
    }

    /// <summary>Runs a function with a real HttpContext, as ASP.NET Core hands it over after routing, and reads what it wrote.</summary>
    private static async Task<(int Status, byte[] Body, IHeaderDictionary Headers)> SendAsync(
        Func<HttpRequest, Task<IActionResult>> function, string method, string path, byte[]? body = null, string? contentType = null, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("127.0.0.1");
        if (body is not null)
        {
            context.Request.Body = new MemoryStream(body);
            context.Request.ContentLength = body.Length;
            context.Request.ContentType = contentType;
        }

        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        using var response = new MemoryStream();
        context.Response.Body = response;

        var result = await function(context.Request);

        Assert.IsType<EmptyResult>(result);
        return (context.Response.StatusCode, response.ToArray(), context.Response.Headers);
    }
}
