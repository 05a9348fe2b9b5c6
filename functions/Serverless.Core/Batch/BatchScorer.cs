using System.Diagnostics;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;

namespace Serverless.Core.Batch;

/// <summary>
/// Scores a JSON Lines file in an object store: one infer request per line in, exactly one line out per
/// line (the response or <c>{"error": ...}</c>), in order. The input is streamed with bounded memory;
/// results go to parts of about <see cref="BatchOptions.PartBytes"/>, and after each part a checkpoint
/// records the input offset reached. When the deadline approaches the call returns
/// <see cref="BatchStatus.Incomplete"/> and the host queues a continuation; the next call resumes at the
/// checkpoint, so nothing is lost and nothing is scored twice into the output. When all lines are done
/// the parts are concatenated into the result object and a summary is written. Transport-free: hosts
/// (Lambda, Azure) translate their events into <see cref="BatchJob"/>s.
/// </summary>
public sealed class BatchScorer
{
    private readonly IModelRepository _models;
    private readonly BatchOptions _options;
    private readonly TimeProvider _time;

    public BatchScorer(IModelRepository models, BatchOptions? options = null, TimeProvider? time = null)
    {
        _models = models ?? throw new ArgumentNullException(nameof(models));
        _options = options ?? new BatchOptions();
        _time = time ?? TimeProvider.System;
    }

    public BatchOptions Options => _options;

    /// <summary>
    /// Scores <paramref name="job"/> until done or until less than <see cref="BatchOptions.DeadlineReserve"/>
    /// is left before <paramref name="deadline"/>. Storage failures and an unknown model throw
    /// <see cref="InferenceException"/> (the host retries the event); bad lines never do.
    /// </summary>
    public async Task<BatchOutcome> ScoreAsync(BatchJob job, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var keys = BatchKeys.For(_options, job.InputKey, job.ETag, job.VersionId);
        var store = job.Store;
        using var lease = await _models.AcquireAsync(job.Model, job.ModelVersion, cancellationToken).ConfigureAwait(false);
        var version = lease.Version.Version;

        var summary = await ReadJsonAsync(store, keys.Summary, BatchJsonContext.Default.BatchSummary, cancellationToken).ConfigureAwait(false);
        if (summary is not null && summary.Model == job.Model && summary.ModelVersion == version)
        {
            return new BatchOutcome(BatchStatus.AlreadyCompleted, keys) { TotalLines = summary.Lines, TotalFailed = summary.Failed };
        }

        var checkpoint = await ReadJsonAsync(store, keys.Checkpoint, BatchJsonContext.Default.BatchCheckpoint, cancellationToken).ConfigureAwait(false);
        if (checkpoint is null || checkpoint.Tag != keys.Tag || checkpoint.Model != job.Model || checkpoint.ModelVersion != version)
        {
            checkpoint = new BatchCheckpoint { InputKey = job.InputKey, Tag = keys.Tag, Model = job.Model, ModelVersion = version, StartedAt = _time.GetUtcNow() };
        }

        checkpoint = checkpoint with { Invocations = checkpoint.Invocations + 1 };
        var maxRows = _options.MaxBatchSize ?? lease.Manifest.MaxBatchSize;
        var clock = Stopwatch.StartNew();
        using var runner = new BatchLineRunner(lease.Session, job.Model, version, Math.Max(maxRows, 1), _options.MaxTensorElements);
        using var part = new PooledBufferWriter(Math.Min(_options.PartBytes + 64 * 1024, 16 * 1024 * 1024));
        var input = await store.OpenReadAsync(job.InputKey, checkpoint.NextOffset, null, cancellationToken).ConfigureAwait(false);
        await using (input.ConfigureAwait(false))
        {
            using var lines = new JsonLinesReader(input, checkpoint.NextOffset, _options.MaxLineBytes);
            var lineNumber = checkpoint.Lines;
            long partLines = 0, offset = checkpoint.NextOffset, startLines = checkpoint.Lines, startFailed = checkpoint.Failed;
            while (true)
            {
                if (_time.GetUtcNow() + _options.DeadlineReserve >= deadline)
                {
                    runner.Flush(part, cancellationToken);
                    checkpoint = await SavePartAsync(store, keys, checkpoint, part, partLines, offset, runner, clock, cancellationToken).ConfigureAwait(false);
                    return new BatchOutcome(BatchStatus.Incomplete, keys)
                    {
                        LinesThisCall = checkpoint.Lines - startLines,
                        FailedThisCall = checkpoint.Failed - startFailed,
                        TotalLines = checkpoint.Lines,
                        TotalFailed = checkpoint.Failed,
                        NextOffset = checkpoint.NextOffset,
                    };
                }

                if (!await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false))
                {
                    break;
                }

                lineNumber++;
                partLines++;
                offset = lines.EndOffset;
                string? error = null;
                var request = lines.CurrentTooLong ? null : runner.Parse(lines.Current.Span, lineNumber, out error);
                if (request is null)
                {
                    runner.Flush(part, cancellationToken); // keep output lines in input order
                    runner.WriteError(part, lines.CurrentTooLong
                        ? $"Line {lineNumber}: longer than the {_options.MaxLineBytes}-byte limit for one request. Split it into smaller requests."
                        : IsBlank(lines.Current.Span) ? $"Line {lineNumber}: empty. Every line must be one infer request object; remove blank lines." : error!);
                }
                else
                {
                    runner.Add(request, part, cancellationToken);
                }

                if (part.WrittenCount >= _options.PartBytes && runner.Pending == 0)
                {
                    checkpoint = await SavePartAsync(store, keys, checkpoint, part, partLines, offset, runner, clock, cancellationToken).ConfigureAwait(false);
                    partLines = 0;
                }
            }

            runner.Flush(part, cancellationToken);
            checkpoint = await SavePartAsync(store, keys, checkpoint, part, partLines, offset, runner, clock, cancellationToken).ConfigureAwait(false);
            return await CompleteAsync(job, keys, checkpoint, startLines, startFailed, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<BatchCheckpoint> SavePartAsync(IObjectStore store, BatchKeys keys, BatchCheckpoint checkpoint, PooledBufferWriter part, long lines, long offset, BatchLineRunner runner, Stopwatch clock, CancellationToken cancellationToken)
    {
        var parts = checkpoint.Parts;
        if (part.WrittenCount > 0)
        {
            // The part's key depends only on its index, so a retry after a crash overwrites rather than duplicates.
            var key = keys.Part(parts.Count);
            using (var content = new MemoryStream(part.WrittenMemory.ToArray(), writable: false))
            {
                await store.PutAsync(key, content, "application/x-ndjson", cancellationToken).ConfigureAwait(false);
            }

            parts = [.. parts, new BatchPart(key, lines, part.WrittenCount)];
            part.Clear();
        }

        var updated = checkpoint with
        {
            NextOffset = offset,
            Lines = checkpoint.Lines + lines,
            Failed = checkpoint.Failed + runner.Failed,
            ScoringMilliseconds = checkpoint.ScoringMilliseconds + clock.Elapsed.TotalMilliseconds,
            Parts = parts,
        };
        clock.Restart();
        runner.ResetCounts();
        await WriteJsonAsync(store, keys.Checkpoint, updated, BatchJsonContext.Default.BatchCheckpoint, cancellationToken).ConfigureAwait(false);
        return updated;
    }

    private async Task<BatchOutcome> CompleteAsync(BatchJob job, BatchKeys keys, BatchCheckpoint checkpoint, long startLines, long startFailed, CancellationToken cancellationToken)
    {
        var store = job.Store;
        long bytes = 0;
        foreach (var p in checkpoint.Parts)
        {
            bytes += p.Bytes;
        }

        var combined = new ConcatenatedReadStream(store, checkpoint.Parts, bytes);
        await using (combined.ConfigureAwait(false))
        {
            await store.PutAsync(keys.Output, combined, "application/x-ndjson", cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        var summary = new BatchSummary
        {
            Input = job.InputKey,
            InputETag = job.ETag,
            InputVersionId = job.VersionId,
            Output = keys.Output,
            Model = job.Model,
            ModelVersion = checkpoint.ModelVersion,
            Lines = checkpoint.Lines,
            Succeeded = checkpoint.Lines - checkpoint.Failed,
            Failed = checkpoint.Failed,
            OutputBytes = bytes,
            Invocations = checkpoint.Invocations,
            ScoringMilliseconds = Math.Round(checkpoint.ScoringMilliseconds, 1),
            WallMilliseconds = Math.Round((now - checkpoint.StartedAt).TotalMilliseconds, 1),
            StartedAt = checkpoint.StartedAt,
            CompletedAt = now,
            RecordsPerSecond = checkpoint.ScoringMilliseconds > 0 ? Math.Round(checkpoint.Lines / (checkpoint.ScoringMilliseconds / 1000), 1) : 0,
        };
        await WriteJsonAsync(store, keys.Summary, summary, BatchJsonContext.Default.BatchSummary, cancellationToken).ConfigureAwait(false);
        return new BatchOutcome(BatchStatus.Completed, keys)
        {
            LinesThisCall = checkpoint.Lines - startLines,
            FailedThisCall = checkpoint.Failed - startFailed,
            TotalLines = checkpoint.Lines,
            TotalFailed = checkpoint.Failed,
            NextOffset = checkpoint.NextOffset,
        };
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).IsEmpty;

    private static async Task<T?> ReadJsonAsync<T>(IObjectStore store, string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        if (await store.GetPropertiesAsync(key, cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        var stream = await store.OpenReadAsync(key, 0, null, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                return null; // a damaged work file is ignored: scoring starts over rather than trusting it
            }
        }
    }

    private static async Task WriteJsonAsync<T>(IObjectStore store, string key, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(value, type), writable: false);
        await store.PutAsync(key, content, "application/json", cancellationToken).ConfigureAwait(false);
    }
}
