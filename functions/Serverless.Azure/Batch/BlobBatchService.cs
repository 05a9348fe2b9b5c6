using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Serverless.Azure.Hosting;
using Serverless.Core.Batch;
using Serverless.Core.Errors;
using Serverless.Core.Storage;
using Serverless.Storage.AzureBlob;

namespace Serverless.Azure.Batch;

/// <summary>
/// Scores one JSON Lines blob that arrived under the incoming prefix, with the core's shared
/// <see cref="BatchScorer"/> over the blob's own container. Output keys come from the blob's name and ETag,
/// so a redelivery writes the same result (or finds it done) instead of a duplicate.
/// <list type="bullet">
/// <item>Time limit reached: progress is checkpointed and the invocation fails with
/// <see cref="BatchIncompleteException"/>, so the trigger delivers the blob again and scoring resumes.</item>
/// <item>A failure a retry may cure (storage, model load): counted beside the checkpoint and rethrown, so the
/// trigger retries; after <see cref="AzureBatchSettings.MaxAttempts"/> failures the file is poisoned.</item>
/// <item>A failure no retry can cure (no such model, a key that names none): poisoned at once.</item>
/// </list>
/// Poisoning copies the input to <c>poison/&lt;name&gt;</c>, writes <c>poison/&lt;name&gt;.error.json</c> with
/// the error, deletes the input and completes the invocation, so nothing is lost and nothing loops.
/// </summary>
public sealed partial class BlobBatchService
{
    private readonly AzureModelHost _host;
    private readonly AzureBatchSettings _settings;
    private readonly ILogger<BlobBatchService> _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Uri, AzureBlobObjectStore> _stores = new();

    public BlobBatchService(AzureModelHost host, AzureBatchSettings settings, ILogger<BlobBatchService> logger, TimeProvider? time = null)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
    }

    public async Task<BatchFileResult> ScoreAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var models = await _host.ReadyAsync(cancellationToken).ConfigureAwait(false);
        var scorer = models.Scorer;
        var container = blob.GetParentBlobContainerClient();
        var store = _stores.GetOrAdd(container.Uri, _ => new AzureBlobObjectStore(container));
        var key = blob.Name;
        var incoming = scorer.Options.IncomingPrefix;
        if (!key.StartsWith(incoming, StringComparison.Ordinal))
        {
            return Log(new BatchFileResult(BatchFileStatus.Ignored, key) { Reason = $"not under the incoming prefix '{incoming}'" });
        }

        var properties = await store.GetPropertiesAsync(key, cancellationToken).ConfigureAwait(false);
        if (properties is null)
        {
            return Log(new BatchFileResult(BatchFileStatus.Ignored, key) { Reason = "deleted before it was scored" });
        }

        var keys = BatchKeys.For(scorer.Options, key, properties.ETag, null);
        string? model = null;
        try
        {
            model = ModelFor(key, incoming, models);
            var deadline = _time.GetUtcNow() + _settings.TimeLimit;
            var outcome = await scorer.ScoreAsync(new BatchJob { Store = store, InputKey = key, ETag = properties.ETag, Model = model }, deadline, cancellationToken).ConfigureAwait(false);
            if (outcome.Status == BatchStatus.Incomplete)
            {
                throw new BatchIncompleteException($"'{key}' reached the {_settings.TimeLimit.TotalSeconds:F0}-second limit at line {outcome.TotalLines} (checkpointed); " +
                    "failing this invocation so the trigger delivers it again and scoring resumes there.");
            }

            return Log(new BatchFileResult(outcome.Status == BatchStatus.Completed ? BatchFileStatus.Completed : BatchFileStatus.AlreadyCompleted, key)
            {
                Model = model,
                Output = outcome.Keys.Output,
                Lines = outcome.TotalLines,
                Failed = outcome.TotalFailed,
            });
        }
        catch (InferenceException ex) when (ex.Code.IsClientError())
        {
            return await PoisonAsync(blob, store, key, key[incoming.Length..], properties.ETag, model, 1, ex.Message, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException ex)
        {
            var failures = await RecordFailureAsync(store, keys, ex.Message, cancellationToken).ConfigureAwait(false);
            if (failures.Attempts >= _settings.MaxAttempts)
            {
                return await PoisonAsync(blob, store, key, key[incoming.Length..], properties.ETag, model, failures.Attempts, ex.Message, cancellationToken).ConfigureAwait(false);
            }

            LogRetry(_logger, key, failures.Attempts, _settings.MaxAttempts, ex.Message);
            throw;
        }
    }

    private static string ModelFor(string key, string incoming, AzureModels models)
    {
        var served = models.Services.Settings.ModelName;
        if (served is not null)
        {
            return served;
        }

        var rest = key[incoming.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            throw new InferenceException(ErrorCode.InvalidInput, $"Cannot tell which model scores '{key}': put files under {incoming}<model>/ (e.g. {incoming}text-direction/{rest}), or set MODEL_NAME on a per-model app.");
        }

        var model = rest[..slash];
        if (!models.Services.Registry.Manifests.Any(m => m.Name == model))
        {
            throw new InferenceException(ErrorCode.NotFound, $"'{key}' names model '{model}', which this function app does not serve. It serves: {string.Join(", ", models.Services.Registry.Manifests.Select(m => m.Name))}.") { Model = model };
        }

        return model;
    }

    private async Task<BatchFailures> RecordFailureAsync(IObjectStore store, BatchKeys keys, string error, CancellationToken cancellationToken)
    {
        var key = FailuresKey(keys);
        var previous = new BatchFailures();
        if (await store.GetPropertiesAsync(key, cancellationToken).ConfigureAwait(false) is not null)
        {
            var stream = await store.OpenReadAsync(key, 0, null, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                try
                {
                    previous = await JsonSerializer.DeserializeAsync(stream, AzureJsonContext.Default.BatchFailures, cancellationToken).ConfigureAwait(false) ?? previous;
                }
                catch (JsonException)
                {
                    // A damaged count starts again from this failure rather than blocking the file.
                }
            }
        }

        var failures = new BatchFailures { Attempts = previous.Attempts + 1, LastError = error, LastFailedAt = _time.GetUtcNow() };
        using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(failures, AzureJsonContext.Default.BatchFailures), writable: false);
        await store.PutAsync(key, content, "application/json", cancellationToken).ConfigureAwait(false);
        return failures;
    }

    private async Task<BatchFileResult> PoisonAsync(BlobClient blob, IObjectStore store, string key, string name, string? eTag, string? model, int attempts, string error, CancellationToken cancellationToken)
    {
        var poisoned = _settings.PoisonPrefix + name;
        var input = await store.OpenReadAsync(key, 0, null, cancellationToken).ConfigureAwait(false);
        await using (input.ConfigureAwait(false))
        {
            await store.PutAsync(poisoned, input, "application/x-ndjson", cancellationToken).ConfigureAwait(false);
        }

        var record = new PoisonRecord
        {
            Input = key,
            InputETag = eTag,
            Model = model,
            PoisonedAs = poisoned,
            Attempts = attempts,
            Error = error,
            PoisonedAt = _time.GetUtcNow(),
        };
        using (var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(record, AzureJsonContext.Default.PoisonRecord), writable: false))
        {
            await store.PutAsync(poisoned + ".error.json", content, "application/json", cancellationToken).ConfigureAwait(false);
        }

        // Only the revision that failed is removed: a newer upload under the same name is left to be scored.
        await blob.DeleteIfExistsAsync(conditions: eTag is null ? null : new BlobRequestConditions { IfMatch = new global::Azure.ETag(eTag) }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Log(new BatchFileResult(BatchFileStatus.Poisoned, key) { Model = model, Output = poisoned, Reason = error });
    }

    private static string FailuresKey(BatchKeys keys) => keys.PartPrefix[..^"part-".Length] + "failures.json";

    private BatchFileResult Log(BatchFileResult result)
    {
        if (result.Status == BatchFileStatus.Poisoned)
        {
            LogPoisoned(_logger, result.Blob, result.Output!, result.Reason!);
        }
        else
        {
            LogResult(_logger, result.Status, result.Blob, result.Model, result.Lines, result.Failed, result.Output, result.Reason);
        }

        return result;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "{Status}: {Blob} with {Model}: {Lines} lines, {Failed} failed -> {Output} {Reason}")]
    private static partial void LogResult(ILogger logger, BatchFileStatus status, string blob, string? model, long lines, long failed, string? output, string? reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "{Blob} failed (attempt {Attempt} of {MaxAttempts}); the trigger retries it: {Error}")]
    private static partial void LogRetry(ILogger logger, string blob, int attempt, int maxAttempts, string error);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "{Blob} moved to {Poisoned} with its error: {Error}")]
    private static partial void LogPoisoned(ILogger logger, string blob, string poisoned, string error);
}

/// <summary>Fails an invocation that checkpointed at its time limit, so the trigger delivers the blob again.</summary>
public sealed class BatchIncompleteException : Exception
{
    public BatchIncompleteException(string message)
        : base(message)
    {
    }

    public BatchIncompleteException()
    {
    }

    public BatchIncompleteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
