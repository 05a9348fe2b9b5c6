using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Azure.Tests.Fixtures;

namespace Serverless.Azure.Tests.Batch;

/// <summary>Event Grid BlobCreated invocations scored end to end: Azurite in, the real handler, Azurite out.</summary>
public sealed class EventGridBatchTests(CustomHandlerFixture handler) : IClassFixture<CustomHandlerFixture>
{
    private const string Container = CustomHandlerFixture.Container;

    [Fact]
    public async Task BlobCreated_ScoresEveryLine_WritesOneLinePerInputAndASummary_AndAnswersTheDocumentedShape()
    {
        var key = "incoming/text-direction/run 1.jsonl";
        await UploadAsync(key, string.Join("\n", Payloads.InferJson(), "this is not json", Payloads.InferJson(batch: 2)) + "\n");

        using var response = await handler.InvokeAsync("text-direction-batch", Payloads.Invocation("text-direction-batch", Payloads.BlobEvent(handler.Azurite.BlobEndpoint, Container, key)));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body + "\n" + handler.Log);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("Outputs").ValueKind);
        Assert.NotEmpty(doc.RootElement.GetProperty("Logs").EnumerateArray());
        var result = doc.RootElement.GetProperty("ReturnValue");
        Assert.False(result.GetProperty("retry").GetBoolean());
        var file = Assert.Single(result.GetProperty("files").EnumerateArray());
        Assert.Equal("completed", file.GetProperty("status").GetString());
        Assert.Equal(key, file.GetProperty("blob").GetString());
        Assert.Equal("text-direction", file.GetProperty("model").GetString());
        Assert.Equal(3, file.GetProperty("lines").GetInt64());
        Assert.Equal(1, file.GetProperty("failed").GetInt64());

        var outputKey = file.GetProperty("output").GetString()!;
        Assert.StartsWith("results/text-direction/run 1.", outputKey);
        var lines = (await ReadAsync(outputKey)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("\"softmax_0.tmp_0\"", lines[0]);
        Assert.Contains("\"error\"", lines[1]);
        Assert.Contains("Line 2", lines[1]);
        Assert.Contains("[2,2]", lines[2].Replace(" ", ""));
        using var summary = JsonDocument.Parse(await ReadAsync(file.GetProperty("summary").GetString()!));
        Assert.Equal(3, summary.RootElement.GetProperty("lines").GetInt64());
    }

    [Fact]
    public async Task BlobCreated_AsACloudEventInAJsonString_ForTheSharedBatchFunction_TakesTheModelFromTheKey()
    {
        var key = "incoming/text-direction/cloud.jsonl";
        await UploadAsync(key, Payloads.InferJson() + "\n");

        using var response = await handler.InvokeAsync("batch", Payloads.Invocation("batch", Payloads.BlobCloudEvent(handler.Azurite.BlobEndpoint, Container, key), eventAsString: true));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var doc = JsonDocument.Parse(body);
        var file = doc.RootElement.GetProperty("ReturnValue").GetProperty("files")[0];
        Assert.Equal("completed", file.GetProperty("status").GetString());
        Assert.Equal("text-direction", file.GetProperty("model").GetString());
        Assert.Equal(1, file.GetProperty("lines").GetInt64());
    }

    [Fact]
    public async Task BlobCreated_DeliveredTwice_IsScoredOnceAndReportedAsAlreadyCompleted()
    {
        var key = "incoming/text-direction/twice.jsonl";
        await UploadAsync(key, Payloads.InferJson() + "\n");
        var payload = Payloads.Invocation("text-direction-batch", Payloads.BlobEvent(handler.Azurite.BlobEndpoint, Container, key, eTag: "0x8DCAFE0000000042"));

        using var first = await handler.InvokeAsync("text-direction-batch", payload);
        using var second = await handler.InvokeAsync("text-direction-batch", payload);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var doc = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        Assert.Equal("already-completed", doc.RootElement.GetProperty("ReturnValue").GetProperty("files")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task BlobDeleted_AndResultsBlobs_AreIgnoredWithoutFailingTheInvocation()
    {
        var deleted = Payloads.BlobEvent(handler.Azurite.BlobEndpoint, Container, "incoming/text-direction/gone.jsonl", eventType: "Microsoft.Storage.BlobDeleted");
        var result = Payloads.BlobEvent(handler.Azurite.BlobEndpoint, Container, "results/text-direction/x.jsonl");

        using var response = await handler.InvokeAsync("text-direction-batch", Payloads.Invocation("text-direction-batch", $"[{deleted},{result}]"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var files = doc.RootElement.GetProperty("ReturnValue").GetProperty("files").EnumerateArray().ToList();
        Assert.All(files, f => Assert.Equal("ignored", f.GetProperty("status").GetString()));
        Assert.Contains("BlobDeleted", files[0].GetProperty("reason").GetString());
        Assert.Contains("incoming prefix", files[1].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task BlobCreated_ForAnUnknownModel_IsRejectedNotRetried_NamingTheModelsServed()
    {
        var key = "incoming/no-such-model/a.jsonl";
        await UploadAsync(key, Payloads.InferJson() + "\n");

        using var response = await handler.InvokeAsync("batch", Payloads.Invocation("batch", Payloads.BlobEvent(handler.Azurite.BlobEndpoint, Container, key)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var file = doc.RootElement.GetProperty("ReturnValue").GetProperty("files")[0];
        Assert.Equal("rejected", file.GetProperty("status").GetString());
        Assert.Contains("no-such-model", file.GetProperty("reason").GetString());
        Assert.Contains("text-direction", file.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task BlobCreated_ForABlobThatIsGone_IsRejectedNamingTheBlob()
    {
        var key = "incoming/text-direction/never-uploaded.jsonl";

        using var response = await handler.InvokeAsync("text-direction-batch", Payloads.Invocation("text-direction-batch", Payloads.BlobEvent(handler.Azurite.BlobEndpoint, Container, key)));

        var body = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(body);
        var file = doc.RootElement.GetProperty("ReturnValue").GetProperty("files")[0];
        Assert.Equal("rejected", file.GetProperty("status").GetString());
        Assert.Contains("never-uploaded.jsonl", file.GetProperty("reason").GetString());
    }

    private async Task UploadAsync(string key, string content)
    {
        using var client = handler.CreateBlobClient();
        await client.PutBlobAsync(Container, key, Encoding.UTF8.GetBytes(content), "application/x-ndjson");
    }

    private async Task<string> ReadAsync(string key)
    {
        using var client = handler.CreateBlobClient();
        await using var stream = await client.OpenReadAsync(Container, key);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
