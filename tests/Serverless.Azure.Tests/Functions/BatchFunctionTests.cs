using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Serverless.Azure.Batch;
using Serverless.Azure.Tests.Fixtures;
using Serverless.Core.Errors;
using Serverless.Tests.Shared;

namespace Serverless.Azure.Tests.Functions;

/// <summary>
/// The Blob-triggered batch function called in-process with the <see cref="BlobClient"/> the trigger binds,
/// over real Azurite: results through the core scorer, idempotent redelivery, resume after the time limit,
/// and the poison prefix for a file that cannot or keeps failing to be scored.
/// </summary>
public sealed class BatchFunctionTests(FunctionAppFixture app) : IClassFixture<FunctionAppFixture>
{
    [Fact]
    public async Task NewFile_IsScoredLineForLineWithTheBadLineAnsweredAsAnError()
    {
        var batch = await app.CreateBatchContainerAsync();
        var blob = await UploadAsync(batch, "incoming/text-direction/mixed.jsonl", InferRequests.JsonLines(3, badLine: 2));

        var result = await app.CreateBatchFunction().RunAsync(blob, CancellationToken.None);

        Assert.Equal(BatchFileStatus.Completed, result.Status);
        Assert.Equal(3, result.Lines);
        Assert.Equal(1, result.Failed);
        Assert.StartsWith("results/text-direction/mixed.", result.Output);
        var lines = (await ReadAsync(batch, result.Output!)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal(2, JsonDocument.Parse(lines[0]).RootElement.GetProperty("outputs")[0].GetProperty("data").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(lines[1]).RootElement.GetProperty("error").GetString()));
        Assert.True(JsonDocument.Parse(lines[2]).RootElement.TryGetProperty("outputs", out _));
    }

    [Fact]
    public async Task RedeliveredFile_IsNotScoredAgainAndItsResultStaysByteForByte()
    {
        var batch = await app.CreateBatchContainerAsync();
        var blob = await UploadAsync(batch, "incoming/text-direction/twice.jsonl", InferRequests.JsonLines(2));
        var function = app.CreateBatchFunction();
        var first = await function.RunAsync(blob, CancellationToken.None);
        var before = await batch.GetBlobClient(first.Output).GetPropertiesAsync();

        var second = await function.RunAsync(blob, CancellationToken.None);

        Assert.Equal(BatchFileStatus.AlreadyCompleted, second.Status);
        Assert.Equal(first.Output, second.Output);
        var after = await batch.GetBlobClient(first.Output).GetPropertiesAsync();
        Assert.Equal(before.Value.ETag, after.Value.ETag);
        Assert.Single(await ListAsync(batch, "results/text-direction/twice."), k => k.EndsWith(".jsonl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FileCutOffByTheTimeLimit_FailsTheInvocationThenResumesWithNothingLost()
    {
        var batch = await app.CreateBatchContainerAsync();
        var blob = await UploadAsync(batch, "incoming/text-direction/long.jsonl", InferRequests.JsonLines(4));
        // Less time than the scorer's reserve: it checkpoints before its first line and asks to be called again.
        var hurried = app.CreateBatchFunction(new AzureBatchSettings { TimeLimit = TimeSpan.FromSeconds(1) });

        var ex = await Assert.ThrowsAsync<BatchIncompleteException>(() => hurried.RunAsync(blob, CancellationToken.None));
        var result = await app.CreateBatchFunction().RunAsync(blob, CancellationToken.None);

        Assert.Contains("long.jsonl", ex.Message);
        Assert.Equal(BatchFileStatus.Completed, result.Status);
        Assert.Equal(4, (await ReadAsync(batch, result.Output!)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task FileForAModelTheAppDoesNotServe_IsPoisonedAtOnceWithItsError()
    {
        var batch = await app.CreateBatchContainerAsync();
        var content = InferRequests.JsonLines(1);
        var blob = await UploadAsync(batch, "incoming/no-such-model/a.jsonl", content);

        var result = await app.CreateBatchFunction().RunAsync(blob, CancellationToken.None);

        Assert.Equal(BatchFileStatus.Poisoned, result.Status);
        Assert.Equal("poison/no-such-model/a.jsonl", result.Output);
        Assert.Equal(content, (await batch.GetBlobClient("poison/no-such-model/a.jsonl").DownloadContentAsync()).Value.Content.ToArray());
        var error = JsonDocument.Parse(await ReadAsync(batch, "poison/no-such-model/a.jsonl.error.json")).RootElement;
        Assert.Contains("no-such-model", error.GetProperty("error").GetString());
        Assert.Contains("text-direction", error.GetProperty("error").GetString());
        Assert.Equal("incoming/no-such-model/a.jsonl", error.GetProperty("input").GetString());
        Assert.False(await blob.ExistsAsync());
    }

    [Fact]
    public async Task FileThatKeepsFailing_IsRetriedThenPoisonedWithTheLastErrorAndTheAttemptCount()
    {
        // A store whose artifact is corrupt: every load fails its SHA-256 check, a server-side failure a retry might cure.
        var models = app.Azurite.CreateClient().GetBlobContainerClient("corrupt-models");
        await models.CreateIfNotExistsAsync();
        var bytes = await File.ReadAllBytesAsync(RepoPaths.ModelFile("text-direction"));
        bytes[bytes.Length / 2] ^= 0xFF;
        await models.GetBlobClient("store/text-direction/1/model.onnx").UploadAsync(new BinaryData(bytes), overwrite: true);
        var function = app.CreateBatchFunction(new AzureBatchSettings { MaxAttempts = 2 }, new Dictionary<string, string?> { ["MODEL_STORE"] = "azblob://corrupt-models/store" });
        var batch = await app.CreateBatchContainerAsync();
        var blob = await UploadAsync(batch, "incoming/text-direction/doomed.jsonl", InferRequests.JsonLines(1));

        var firstFailure = await Assert.ThrowsAsync<InferenceException>(() => function.RunAsync(blob, CancellationToken.None));
        var second = await function.RunAsync(blob, CancellationToken.None);

        Assert.Equal(ErrorCode.IntegrityFailure, firstFailure.Code);
        Assert.Equal(BatchFileStatus.Poisoned, second.Status);
        var error = JsonDocument.Parse(await ReadAsync(batch, "poison/text-direction/doomed.jsonl.error.json")).RootElement;
        Assert.Equal(2, error.GetProperty("attempts").GetInt32());
        Assert.Contains("text-direction", error.GetProperty("error").GetString());
        Assert.Equal("text-direction", error.GetProperty("model").GetString());
        Assert.False(await blob.ExistsAsync());
    }

    [Fact]
    public async Task FileOutsideTheIncomingPrefix_IsIgnoredAndLeftAlone()
    {
        var batch = await app.CreateBatchContainerAsync();
        var blob = await UploadAsync(batch, "results/text-direction/x.jsonl", InferRequests.JsonLines(1));

        var result = await app.CreateBatchFunction().RunAsync(blob, CancellationToken.None);

        Assert.Equal(BatchFileStatus.Ignored, result.Status);
        Assert.True(await blob.ExistsAsync());
        Assert.Empty(await ListAsync(batch, "poison/"));
    }

    [Fact]
    public async Task FileDeletedBeforeItsTurn_IsIgnored()
    {
        var batch = await app.CreateBatchContainerAsync();
        var blob = batch.GetBlobClient("incoming/text-direction/gone.jsonl");

        var result = await app.CreateBatchFunction().RunAsync(blob, CancellationToken.None);

        Assert.Equal(BatchFileStatus.Ignored, result.Status);
        Assert.Contains("deleted", result.Reason);
    }

    private static async Task<BlobClient> UploadAsync(BlobContainerClient container, string name, byte[] content)
    {
        var blob = container.GetBlobClient(name);
        await blob.UploadAsync(new BinaryData(content), overwrite: true);
        return blob;
    }

    private static async Task<string> ReadAsync(BlobContainerClient container, string name) =>
        Encoding.UTF8.GetString((await container.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToArray());

    private static async Task<List<string>> ListAsync(BlobContainerClient container, string prefix)
    {
        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync(new global::Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }))
        {
            names.Add(item.Name);
        }

        return names;
    }
}
