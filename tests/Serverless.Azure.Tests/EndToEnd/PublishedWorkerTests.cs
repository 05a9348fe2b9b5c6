using System.Text;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;
using Serverless.Azure.Tests.Fixtures;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Azure.Tests.EndToEnd;

/// <summary>
/// The published worker, driven end to end over the host-worker gRPC protocol by <see cref="FunctionsHostRpc"/>
/// standing in for the Functions host: init, function metadata, load, one HTTP invocation (proxied to the
/// worker's Kestrel) and one Blob-trigger invocation, with models and batch files in real Azurite.
/// </summary>
public sealed class PublishedWorkerTests(FunctionAppFixture app, ITestOutputHelper output) : IClassFixture<FunctionAppFixture>
{
    [Fact]
    public async Task PublishedWorker_DrivenLikeTheFunctionsHost_InitsListsItsFunctionsAndServesHttpAndBlobInvocations()
    {
        var folder = await PublishedWorker.AppFolderAsync();
        var environment = app.Environment();
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = app.Azurite.ConnectionString,
            ["MODEL_STORE"] = $"azblob://{FunctionAppFixture.ModelContainer}/store",
            ["MODEL_CACHE_DIR"] = environment.GetVariable("MODEL_CACHE_DIR")!,
            ["SERVERLESS_MODELS_DIR"] = RepoPaths.Models,
        };
        var batch = app.Azurite.CreateClient().GetBlobContainerClient("batch");
        await batch.CreateIfNotExistsAsync();
        await batch.GetBlobClient("incoming/text-direction/e2e.jsonl").UploadAsync(new BinaryData(InferRequests.JsonLines(2)), overwrite: true);
        await using var host = await FunctionsHostRpc.StartAsync();
        await using var worker = PublishedWorker.Start(folder, host.Uri, settings);

        WorkerSession? session = null;
        try
        {
            session = await WorkerSession.OpenAsync(host, folder);
            var loads = await session.LoadAllAsync();

            Assert.Equal(worker.WorkerId, session.Start.WorkerId);
            Assert.Equal(StatusResult.Types.Status.Success, session.Init.Result.Status);
            Assert.True(session.Init.Capabilities.ContainsKey("HttpUri"), "ASP.NET Core integration announces its HttpUri");
            Assert.Equal(StatusResult.Types.Status.Success, session.Metadata.Result.Status);
            Assert.Equal(["batch", "health", "protocol", "server"], session.Metadata.FunctionMetadataResults.Select(f => f.Name).Order());
            var blobTrigger = session.Metadata.FunctionMetadataResults.Single(f => f.Name == "batch").RawBindings.Single();
            Assert.Equal("EventGrid", JsonDocument.Parse(blobTrigger).RootElement.GetProperty("source").GetString());
            Assert.All(loads, l => Assert.Equal(StatusResult.Types.Status.Success, l.Result.Status));

            using var client = new HttpClient();
            var (http, invocation) = await session.InvokeHttpAsync(client, "protocol", HttpMethod.Post, "/v2/models/text-direction/infer",
                new StringContent(InferRequests.Json(3), Encoding.UTF8, "application/json"));
            var body = await http.Content.ReadAsStringAsync();
            Assert.True(http.IsSuccessStatusCode, $"{(int)http.StatusCode} {body} {invocation.Result.Exception?.Message}");
            Assert.Equal(StatusResult.Types.Status.Success, invocation.Result.Status);
            Assert.Equal([1, 2], JsonDocument.Parse(body).RootElement.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));

            var blob = await session.InvokeBlobAsync("batch", "AzureWebJobsStorage", "batch", "incoming/text-direction/e2e.jsonl", "text-direction/e2e.jsonl");
            Assert.True(blob.Result.Status == StatusResult.Types.Status.Success, blob.Result.Exception?.Message + Environment.NewLine + session.Stream.Logs);
            var results = new List<string>();
            await foreach (var item in batch.GetBlobsAsync(new global::Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "results/text-direction/e2e." }))
            {
                results.Add(item.Name);
            }

            var resultName = Assert.Single(results, n => n.EndsWith(".jsonl", StringComparison.Ordinal));
            var lines = (await batch.GetBlobClient(resultName).DownloadContentAsync()).Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
        }
        catch
        {
            output.WriteLine($"worker output:{Environment.NewLine}{worker.Output}{Environment.NewLine}worker logs over gRPC:{Environment.NewLine}{session?.Stream.Logs}");
            throw;
        }
    }
}
