using System.Collections.Concurrent;
using System.Text.Json;
using Serverless.Core.Batch;
using Serverless.Core.Errors;
using Serverless.Core.Storage;
using Serverless.Lambda.Events;

namespace Serverless.Lambda.Batch;

/// <summary>
/// Batch scoring triggered by S3 <c>ObjectCreated</c> notifications, delivered directly or wrapped in SQS
/// messages. Keys are URL-decoded; <c>s3:TestEvent</c> is acknowledged and ignored; keys outside the
/// incoming prefix are ignored (results never re-trigger scoring). With SQS, a message whose file failed
/// is returned in <c>batchItemFailures</c> so only it is retried; messages not started before the deadline
/// are returned too. A file left incomplete at the deadline continues per <see cref="ContinuationMode"/>.
/// </summary>
public sealed class S3BatchHandler
{
    private readonly BatchScorer _scorer;
    private readonly Func<string, IObjectStore> _storeForBucket;
    private readonly ConcurrentDictionary<string, IObjectStore> _stores = new(StringComparer.Ordinal);
    private readonly string? _servedModel;
    private readonly IReadOnlyCollection<string>? _allowedModels;
    private readonly ContinuationMode _mode;
    private readonly TimeProvider _time;
    private readonly TextWriter _diagnostics;

    public S3BatchHandler(BatchScorer scorer, Func<string, IObjectStore> storeForBucket, string? servedModel, IReadOnlyCollection<string>? allowedModels,
        ContinuationMode mode, TextWriter diagnostics, TimeProvider? time = null)
    {
        _scorer = scorer ?? throw new ArgumentNullException(nameof(scorer));
        _storeForBucket = storeForBucket ?? throw new ArgumentNullException(nameof(storeForBucket));
        _servedModel = servedModel;
        _allowedModels = allowedModels;
        _mode = mode;
        _diagnostics = diagnostics ?? throw new ArgumentNullException(nameof(diagnostics));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Lines scored (and failed) and files left incomplete since the last <see cref="TakeCounts"/>.</summary>
    public (long Scored, long Failed, long Incomplete, string? Model) TakeCounts()
    {
        var counts = (_scored, _failed, _incomplete, _lastModel);
        (_scored, _failed, _incomplete, _lastModel) = (0, 0, 0, null);
        return counts;
    }

    private long _scored;
    private long _failed;
    private long _incomplete;
    private string? _lastModel;

    /// <summary>Handles a direct S3 notification. Failures throw so Lambda's asynchronous retry applies.</summary>
    public async Task<BatchInvocationResult> HandleS3Async(ReadOnlyMemory<byte> payload, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var e = JsonSerializer.Deserialize(payload.Span, LambdaJsonContext.Default.S3Event);
        var files = new List<BatchFileResult>();
        foreach (var record in e?.Records ?? [])
        {
            var result = await ProcessRecordAsync(record, deadline, cancellationToken).ConfigureAwait(false);
            if (result.Status == nameof(BatchStatus.Incomplete) && _mode == ContinuationMode.Redeliver)
            {
                throw new TimeoutException($"'{result.Key}' is checkpointed at line {result.TotalLines} but not finished before the deadline; failing the invocation so Lambda's retry continues it. Raise the function timeout or use BATCH_CONTINUATION=marker.");
            }

            files.Add(result);
        }

        return new BatchInvocationResult { Files = files };
    }

    /// <summary>Handles an SQS batch whose bodies are S3 notifications; returns the messages to retry.</summary>
    public async Task<SqsBatchResponse> HandleSqsAsync(ReadOnlyMemory<byte> payload, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var e = JsonSerializer.Deserialize(payload.Span, LambdaJsonContext.Default.SqsEvent);
        var failures = new List<SqsBatchItemFailure>();
        foreach (var message in e?.Records ?? [])
        {
            var id = message.MessageId ?? string.Empty;
            if (_time.GetUtcNow() + _scorer.Options.DeadlineReserve >= deadline)
            {
                failures.Add(new SqsBatchItemFailure { ItemIdentifier = id }); // not started: SQS delivers it again
                continue;
            }

            try
            {
                var body = System.Text.Encoding.UTF8.GetBytes(message.Body ?? string.Empty);
                var kind = EventClassifier.Classify(body);
                if (kind == EventKind.S3TestEvent)
                {
                    continue;
                }

                if (kind != EventKind.S3)
                {
                    throw new InferenceException(ErrorCode.InvalidInput, $"SQS message {id} does not hold an S3 event notification. Point only the bucket's ObjectCreated notifications at this queue.");
                }

                var s3 = JsonSerializer.Deserialize(body, LambdaJsonContext.Default.S3Event);
                foreach (var record in s3?.Records ?? [])
                {
                    var result = await ProcessRecordAsync(record, deadline, cancellationToken).ConfigureAwait(false);
                    if (result.Status == nameof(BatchStatus.Incomplete) && _mode == ContinuationMode.Redeliver)
                    {
                        failures.Add(new SqsBatchItemFailure { ItemIdentifier = id });
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await _diagnostics.WriteLineAsync($"batch message {id} failed: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
                failures.Add(new SqsBatchItemFailure { ItemIdentifier = id });
            }
        }

        return new SqsBatchResponse { BatchItemFailures = failures };
    }

    private async Task<BatchFileResult> ProcessRecordAsync(S3EventRecord record, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var rawKey = record.S3?.Object?.Key ?? string.Empty;
        var key = S3EventKeys.Decode(rawKey);
        if (record.EventName is null || !record.EventName.StartsWith("ObjectCreated", StringComparison.Ordinal))
        {
            return Ignored(key, $"event {record.EventName} is not ObjectCreated");
        }

        var bucket = record.S3?.Bucket?.Name;
        if (string.IsNullOrEmpty(bucket) || key.Length == 0)
        {
            throw new InferenceException(ErrorCode.InvalidInput, "The S3 record has no bucket name or object key.");
        }

        var store = _stores.GetOrAdd(bucket, _storeForBucket);
        var incoming = _scorer.Options.IncomingPrefix;
        BatchJob job;
        if (ContinuationMarker.IsMarkerKey(key))
        {
            var marker = await ReadMarkerAsync(store, key, cancellationToken).ConfigureAwait(false);
            job = new BatchJob { Store = store, InputKey = marker.Key, ETag = marker.ETag, VersionId = marker.VersionId, Model = marker.Model };
        }
        else if (!key.StartsWith(incoming, StringComparison.Ordinal))
        {
            return Ignored(key, $"not under the incoming prefix '{incoming}'");
        }
        else
        {
            job = new BatchJob { Store = store, InputKey = key, ETag = record.S3?.Object?.ETag, VersionId = record.S3?.Object?.VersionId, Model = ModelFor(key, incoming) };
        }

        var outcome = await _scorer.ScoreAsync(job, deadline, cancellationToken).ConfigureAwait(false);
        _scored += outcome.LinesThisCall - outcome.FailedThisCall;
        _failed += outcome.FailedThisCall;
        _lastModel = job.Model;
        if (outcome.Status == BatchStatus.Incomplete)
        {
            _incomplete++;
            if (_mode == ContinuationMode.Marker)
            {
                var marker = new ContinuationMarker { Key = job.InputKey, ETag = job.ETag, VersionId = job.VersionId, Model = job.Model };
                using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(marker, LambdaJsonContext.Default.ContinuationMarker), writable: false);
                await store.PutAsync(ContinuationMarker.KeyFor(job.InputKey, outcome.Keys.Tag), content, "application/json", cancellationToken).ConfigureAwait(false);
            }
        }

        return new BatchFileResult
        {
            Key = job.InputKey,
            Status = outcome.Status.ToString(),
            Lines = outcome.LinesThisCall,
            Failed = outcome.FailedThisCall,
            TotalLines = outcome.TotalLines,
            Output = outcome.Status == BatchStatus.Incomplete ? null : outcome.Keys.Output,
        };
    }

    /// <summary>MODEL_NAME when set; otherwise the first folder under the incoming prefix (incoming/&lt;model&gt;/file.jsonl).</summary>
    private string ModelFor(string key, string incoming)
    {
        if (_servedModel is not null)
        {
            return _servedModel;
        }

        var rest = key[incoming.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            throw new InferenceException(ErrorCode.InvalidInput, $"Cannot tell which model scores '{key}': put files under {incoming}<model>/ (e.g. {incoming}text-direction/{rest}) or set MODEL_NAME on the function.");
        }

        var model = rest[..slash];
        if (_allowedModels is { Count: > 0 } && !_allowedModels.Contains(model))
        {
            throw new InferenceException(ErrorCode.NotFound, $"'{key}' names model '{model}', which this batch function does not score. It scores: {string.Join(", ", _allowedModels)}.") { Model = model };
        }

        return model;
    }

    private static async Task<ContinuationMarker> ReadMarkerAsync(IObjectStore store, string key, CancellationToken cancellationToken)
    {
        var stream = await store.OpenReadAsync(key, 0, null, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(stream, LambdaJsonContext.Default.ContinuationMarker, cancellationToken).ConfigureAwait(false)
                ?? throw new InferenceException(ErrorCode.InvalidInput, $"Continuation marker '{key}' is empty.");
        }
    }

    private static BatchFileResult Ignored(string key, string reason) => new() { Key = key, Status = "Ignored", Reason = reason };
}
