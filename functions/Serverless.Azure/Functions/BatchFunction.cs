using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Serverless.Azure.Batch;

namespace Serverless.Azure.Functions;

/// <summary>
/// Batch scoring: a Blob trigger on <c>batch/incoming/</c> fed by Event Grid (BlobCreated events to the
/// host's blobs webhook), so a new file starts scoring within seconds instead of a container scan. The
/// connection is AzureWebJobsStorage (a connection string, or <c>__accountName</c>/<c>__credential</c> for the
/// managed identity). The trigger binds a <see cref="BlobClient"/>, so the file is streamed, never loaded whole.
/// </summary>
public sealed class BatchFunction(BlobBatchService batch)
{
    public const string Container = "batch";

    [Function("batch")]
    public Task<BatchFileResult> RunAsync(
        [BlobTrigger(Container + "/incoming/{name}", Source = BlobTriggerSource.EventGrid)] BlobClient blob,
        CancellationToken cancellationToken) =>
        batch.ScoreAsync(blob, cancellationToken);
}
