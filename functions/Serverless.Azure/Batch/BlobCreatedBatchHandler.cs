using System.Collections.Concurrent;
using System.Text.Json;
using Serverless.Core.Batch;
using Serverless.Core.Errors;
using Serverless.Core.Storage;

namespace Serverless.Azure.Batch;

/// <summary>
/// Scores the JSON Lines blob an Event Grid BlobCreated event announces, with the core's shared
/// <see cref="BatchScorer"/> over an Azure Blob store for the event's container. Blobs outside the incoming
/// prefix are ignored, so results never re-trigger scoring. A file left incomplete at the time limit, or a
/// storage failure, asks for a retry (the invocation fails and Event Grid redelivers; the scorer resumes at
/// its checkpoint). A problem no retry can fix (unknown model, not a blob URL) is reported and not retried.
/// </summary>
internal sealed class BlobCreatedBatchHandler
{
    private readonly BatchScorer _scorer;
    private readonly Func<Uri, IObjectStore> _storeForContainer;
    private readonly IReadOnlyCollection<string> _models;
    private readonly TimeSpan _timeLimit;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, IObjectStore> _stores = new(StringComparer.Ordinal);

    public BlobCreatedBatchHandler(BatchScorer scorer, Func<Uri, IObjectStore> storeForContainer, IReadOnlyCollection<string> models, TimeSpan timeLimit, TimeProvider? time = null)
    {
        _scorer = scorer ?? throw new ArgumentNullException(nameof(scorer));
        _storeForContainer = storeForContainer ?? throw new ArgumentNullException(nameof(storeForContainer));
        _models = models ?? throw new ArgumentNullException(nameof(models));
        _timeLimit = timeLimit;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Handles one event or an array of events; <paramref name="servedModel"/> is the model of a per-model function, or null to take it from the key.</summary>
    public async Task<BatchInvocationOutcome> HandleAsync(JsonElement events, string? servedModel, ICollection<string> logs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logs);
        var deadline = _time.GetUtcNow() + _timeLimit;
        var results = new List<BatchFileResult>();
        var retry = false;
        var list = events.ValueKind == JsonValueKind.Array ? events.EnumerateArray().ToList() : [events];
        foreach (var element in list)
        {
            var result = await HandleOneAsync(element, servedModel, deadline, logs, cancellationToken).ConfigureAwait(false);
            retry |= result.Status is "incomplete" or "failed";
            results.Add(result);
        }

        return new BatchInvocationOutcome(results, retry);
    }

    private async Task<BatchFileResult> HandleOneAsync(JsonElement element, string? servedModel, DateTimeOffset deadline, ICollection<string> logs, CancellationToken cancellationToken)
    {
        BlobCreatedEvent e;
        Uri root;
        string key;
        try
        {
            e = BlobCreatedEvent.Parse(element);
            if (!e.IsBlobCreated)
            {
                return Log(logs, new BatchFileResult { Status = "ignored", Reason = $"event type '{e.EventType}' is not {BlobCreatedEvent.BlobCreatedType}" });
            }

            if (e.Url is null)
            {
                return Log(logs, new BatchFileResult { Status = "rejected", Reason = $"BlobCreated event {e.Id} has no data.url" });
            }

            (root, key) = BlobCreatedEvent.SplitBlobUrl(e.Url);
        }
        catch (FormatException ex)
        {
            return Log(logs, new BatchFileResult { Status = "rejected", Reason = ex.Message });
        }

        var incoming = _scorer.Options.IncomingPrefix;
        if (!key.StartsWith(incoming, StringComparison.Ordinal))
        {
            return Log(logs, new BatchFileResult { Status = "ignored", Blob = key, Reason = $"not under the incoming prefix '{incoming}'" });
        }

        string? model = null;
        try
        {
            model = ModelFor(key, incoming, servedModel);
            var store = _stores.GetOrAdd(root.AbsoluteUri, _ => _storeForContainer(root));
            var outcome = await _scorer.ScoreAsync(new BatchJob { Store = store, InputKey = key, ETag = e.ETag, Model = model }, deadline, cancellationToken).ConfigureAwait(false);
            var status = outcome.Status switch
            {
                BatchStatus.Completed => "completed",
                BatchStatus.AlreadyCompleted => "already-completed",
                _ => "incomplete",
            };
            return Log(logs, new BatchFileResult
            {
                Status = status,
                Blob = key,
                Model = model,
                Output = outcome.Keys.Output,
                Summary = outcome.Keys.Summary,
                Lines = outcome.TotalLines,
                Failed = outcome.TotalFailed,
                Reason = outcome.Status == BatchStatus.Incomplete ? $"checkpointed at line {outcome.TotalLines}; failing the invocation so Event Grid redelivers and scoring resumes" : null,
            });
        }
        catch (InferenceException ex) when (ex.Code.IsClientError())
        {
            return Log(logs, new BatchFileResult { Status = "rejected", Blob = key, Model = model, Reason = ex.Message });
        }
        catch (InferenceException ex)
        {
            return Log(logs, new BatchFileResult { Status = "failed", Blob = key, Model = model, Reason = ex.Message });
        }
    }

    private string ModelFor(string key, string incoming, string? servedModel)
    {
        if (servedModel is not null)
        {
            return servedModel;
        }

        var rest = key[incoming.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            throw new InferenceException(ErrorCode.InvalidInput, $"Cannot tell which model scores '{key}': put files under {incoming}<model>/ (e.g. {incoming}text-direction/{rest}) or subscribe a <model>-batch function.");
        }

        var model = rest[..slash];
        if (!_models.Contains(model))
        {
            throw new InferenceException(ErrorCode.NotFound, $"'{key}' names model '{model}', which this function app does not serve. It serves: {string.Join(", ", _models)}.") { Model = model };
        }

        return model;
    }

    private static BatchFileResult Log(ICollection<string> logs, BatchFileResult result)
    {
        logs.Add(result.Reason is null
            ? $"{result.Status}: {result.Blob} with {result.Model}: {result.Lines} lines, {result.Failed} failed -> {result.Output}"
            : $"{result.Status}: {result.Blob ?? "(no blob)"}: {result.Reason}");
        return result;
    }
}
