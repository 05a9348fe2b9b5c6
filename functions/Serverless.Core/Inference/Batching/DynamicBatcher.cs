using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Serverless.Core.Batch;
using Serverless.Core.Errors;
using Serverless.Core.Tensors;

namespace Serverless.Core.Inference.Batching;

/// <summary>
/// Dynamic batching (Triton's <c>dynamic_batching</c>) as an <see cref="IInferenceSession"/> decorator, so
/// the protocol handler needs no change. Concurrent <see cref="Run"/> calls whose inputs all have a dynamic
/// first dimension are queued for at most <see cref="DynamicBatchingOptions.MaxDelay"/> or until
/// <see cref="MaxBatchSize"/> rows, joined along dimension 0 into one run of the wrapped session, and each
/// caller gets exactly its own rows back. Requests join only requests with the same element types, the same
/// dimensions after the first and the same outputs; the rest form their own batches. The first request of a
/// batch starts its leader, which waits for the batch to fill and for a run slot without holding a thread
/// (timer and semaphore continuations), then runs the batch; each caller blocks on its own request's task,
/// a wait the thread pool sees and makes up for with more threads, so requests arriving meanwhile can still
/// reach the queue on a small pool. Other requests (a model
/// without a dynamic batch dimension, a request of <see cref="MaxBatchSize"/> rows or more, inputs that do not
/// line up with the model) run alone, through the same run slots. A failed joined run is reported to every
/// caller in it, or, with <see cref="DynamicBatchingOptions.RetryFailedBatchesSeparately"/>, retried one
/// request at a time so only the guilty request fails. The queue is bounded: one request too many gets
/// <see cref="ErrorCode.Overloaded"/> with Retry-After. Dispose does not dispose the wrapped session, which
/// belongs to the model registry.
/// </summary>
public sealed class DynamicBatcher : IInferenceSession
{
    private const int MaxPooled = 64;

    private readonly IInferenceSession _inner;
    private readonly DynamicBatchingOptions _options;
    private readonly IBatchObserver? _observer;
#pragma warning disable CA2213 // Never disposed: a Run may still hold a slot when the batcher is dropped, and SemaphoreSlim needs no disposal unless its wait handle was used.
    private readonly SemaphoreSlim _runSlots;
#pragma warning restore CA2213
    private readonly Lock _gate = new();
    private readonly List<PendingBatch> _open = [];
    private readonly Stack<BatchItem> _freeItems = new();
    private readonly Stack<PendingBatch> _freeBatches = new();
    private readonly bool _batchable;
    private int _queued;
    private long _requests;
    private long _runs;
    private long _joinedRuns;
    private long _rejected;
    private long _failedRuns;
    private int _largestBatch;

    public DynamicBatcher(IInferenceSession inner, string model, int maxBatchSize, DynamicBatchingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBatchSize);
        _inner = inner;
        _options = options ?? new DynamicBatchingOptions();
        _options.Validate();
        _observer = _options.Observer;
        _runSlots = new SemaphoreSlim(_options.MaxConcurrentRuns, _options.MaxConcurrentRuns);
        Model = model;
        MaxBatchSize = maxBatchSize;
        var inputs = inner.Inputs;
        var allBatched = inputs.Count > 0;
        foreach (var input in inputs)
        {
            allBatched &= input.HasDynamicBatch && input.ElementType != TensorElementType.String;
        }

        _batchable = allBatched && maxBatchSize > 1;
    }

    public string Model { get; }

    /// <summary>Most rows one joined run may hold.</summary>
    public int MaxBatchSize { get; }

    /// <summary>False when the model cannot be batched (no dynamic first dimension on every input, or a maximum of 0 or 1).</summary>
    public bool IsBatching => _batchable;

    /// <summary>The wrapped session (owned by the registry).</summary>
    public IInferenceSession Inner => _inner;

    public IReadOnlyList<TensorSpec> Inputs => _inner.Inputs;

    public IReadOnlyList<TensorSpec> Outputs => _inner.Outputs;

    public string ExecutionProvider => _inner.ExecutionProvider;

    public BatcherStatistics Statistics => new(
        Interlocked.Read(ref _requests), Interlocked.Read(ref _runs), Interlocked.Read(ref _joinedRuns),
        Interlocked.Read(ref _rejected), Interlocked.Read(ref _failedRuns), Volatile.Read(ref _largestBatch), Volatile.Read(ref _queued));

    /// <summary>
    /// Runs one request, possibly joined with others. Blocks until its batch has run. Cancellation is honoured
    /// while waiting for a run slot alone; a request already in a batch stays in it (the others depend on the
    /// run), and a cancelled caller's results are discarded afterwards.
    /// </summary>
    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        if (results.Length < outputIndices.Length)
        {
            throw new ArgumentException($"results has room for {results.Length} tensors but {outputIndices.Length} outputs were requested.", nameof(results));
        }

        cancellationToken.ThrowIfCancellationRequested();
        Admit();
        try
        {
            var rows = _batchable && outputIndices.Length <= _inner.Outputs.Count ? RowsInModelOrder(inputs) : -1;
            if (rows <= 0 || rows >= MaxBatchSize)
            {
                RunAlone(inputs, outputIndices, results, cancellationToken);
                return;
            }

            RunBatched(inputs, outputIndices, results, rows, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            while (_freeItems.TryPop(out var item))
            {
                item.Dispose();
            }

            _freeBatches.Clear();
        }
    }

    private void Admit()
    {
        if (Interlocked.Increment(ref _queued) > _options.MaxQueuedRequests)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _rejected);
            _observer?.RequestRejected(Model);
            throw new InferenceException(ErrorCode.Overloaded,
                $"Model '{Model}' is overloaded: {_options.MaxQueuedRequests} requests are already queued or running. " +
                $"Retry after {_options.RetryAfterSeconds} s, or raise the queue limit (GPU_MAX_QUEUE) or the number of servers.")
            { Model = Model, RetryAfterSeconds = _options.RetryAfterSeconds };
        }

        Interlocked.Increment(ref _requests);
    }

    /// <summary>Rows of the request when its inputs are exactly the model's (by name, once each) and agree on dimension 0; else -1.</summary>
    private long RowsInModelOrder(ReadOnlySpan<HostTensor> inputs)
    {
        var specs = _inner.Inputs;
        if (inputs.Length != specs.Count)
        {
            return -1;
        }

        for (var i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null || !string.Equals(inputs[i].Name, specs[i].Name, StringComparison.Ordinal))
            {
                return -1; // the protocol reader fills inputs in the model's order; anything else runs alone
            }
        }

        return TensorBatching.Rows(inputs);
    }

    private void RunAlone(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken)
    {
        var queuedAt = Stopwatch.GetTimestamp();
        if (!_runSlots.Wait(0, cancellationToken))
        {
            // Blocking on the task, not on the semaphore: the thread pool then adds a thread for the time it waits.
            _runSlots.WaitAsync(cancellationToken).GetAwaiter().GetResult();
        }

        var started = Stopwatch.GetTimestamp();
        var failed = true;
        try
        {
            _observer?.RequestStarted(Model, Stopwatch.GetElapsedTime(queuedAt, started));
            _inner.Run(inputs, outputIndices, results, cancellationToken);
            failed = false;
        }
        finally
        {
            _runSlots.Release();
            Completed(1, inputs.Length > 0 && inputs[0] is { Shape.Length: > 0 } first ? first.Shape[0] : 1, started, failed);
        }
    }

    private void RunBatched(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, long rows, CancellationToken cancellationToken)
    {
        var item = RentItem();
        inputs.CopyTo(item.Inputs);
        item.Prepare(outputIndices, rows, Stopwatch.GetTimestamp());
        try
        {
            if (Enqueue(item) is { } batch)
            {
                // Runs on this thread up to its first wait: with no delay and a free slot, the batch runs here.
                _ = LeadAsync(batch);
            }

            // A task wait (not an event's) tells the thread pool this thread is blocked, so it adds threads at
            // once instead of after its starvation check: requests arriving during the delay can join the batch.
            item.Done.Task.Wait(CancellationToken.None);
            if (item.Error is { } error)
            {
                ExceptionDispatchInfo.Throw(error);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var mine = item.OutputResults;
            for (var i = 0; i < mine.Length; i++)
            {
                results[i] = mine[i];
                mine[i] = null;
            }
        }
        finally
        {
            ReturnItem(item);
        }
    }

    /// <summary>Adds the request to an open compatible batch with room; returns the new batch when the request must lead it.</summary>
    private PendingBatch? Enqueue(BatchItem item)
    {
        lock (_gate)
        {
            PendingBatch? batch = null;
            foreach (var open in _open)
            {
                if (open.Rows + item.Rows <= MaxBatchSize && open.Accepts(item))
                {
                    batch = open;
                    break;
                }
            }

            var lead = batch is null;
            if (batch is null)
            {
                batch = _freeBatches.TryPop(out var free) ? free : new PendingBatch();
                _open.Add(batch);
            }

            batch.Add(item);
            if (batch.Rows >= MaxBatchSize)
            {
                Close(batch);
                batch.Full.TrySetResult();
            }

            return lead ? batch : null;
        }
    }

    /// <summary>
    /// Waits for the batch to fill or its delay to pass, then for a run slot (it keeps filling meanwhile), holding
    /// no thread while it waits; then runs it on the thread that ended the wait, and releases every caller.
    /// </summary>
    private async Task LeadAsync(PendingBatch batch)
    {
        try
        {
            var full = batch.Full.Task;
            if (!full.IsCompleted && _options.MaxDelay > TimeSpan.Zero)
            {
                await Task.WhenAny(full, Task.Delay(_options.MaxDelay)).ConfigureAwait(false);
            }

            await _runSlots.WaitAsync().ConfigureAwait(false);
            try
            {
                lock (_gate)
                {
                    Close(batch);
                }

                Execute(batch);
            }
            finally
            {
                _runSlots.Release();
            }
        }
#pragma warning disable CA1031 // Nothing awaits the leader: whatever escapes must reach the callers it would otherwise strand.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            lock (_gate)
            {
                Close(batch);
            }

            foreach (var member in batch.Items)
            {
                member.Error ??= ForCaller(ex, batch.Items.Count);
            }
        }
        finally
        {
            foreach (var member in batch.Items)
            {
                member.Done.TrySetResult();
            }

            lock (_gate)
            {
                batch.Reset();
                if (_freeBatches.Count < MaxPooled)
                {
                    _freeBatches.Push(batch);
                }
            }
        }
    }

    private void Close(PendingBatch batch)
    {
        if (!batch.Closed)
        {
            batch.Closed = true;
            _open.Remove(batch);
        }
    }

    private void Execute(PendingBatch batch)
    {
        var started = Stopwatch.GetTimestamp();
        var items = batch.Items;
        foreach (var item in items)
        {
            _observer?.RequestStarted(Model, Stopwatch.GetElapsedTime(item.EnqueuedAt, started));
        }

        if (items.Count == 1)
        {
            RunOne(items[0]);
            return;
        }

        var failed = true;
        try
        {
            if (!TryRunJoined(batch))
            {
                foreach (var item in items)
                {
                    RunOne(item);
                }
            }

            failed = false;
        }
#pragma warning disable CA1031 // Whatever the joined run throws must reach its callers, not the leader alone.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (_options.RetryFailedBatchesSeparately)
            {
                Completed(items.Count, batch.Rows, started, failed: true);
                foreach (var item in items)
                {
                    RunOne(item);
                }

                return;
            }

            foreach (var item in items)
            {
                item.Error = ForCaller(ex, items.Count);
            }
        }

        Completed(items.Count, batch.Rows, started, failed);
    }

    /// <summary>Runs one request by itself; its failure is its own.</summary>
    private void RunOne(BatchItem item)
    {
        var started = Stopwatch.GetTimestamp();
        var failed = true;
        try
        {
            _inner.Run(item.Inputs, item.Outputs, item.OutputResults, CancellationToken.None);
            failed = false;
        }
#pragma warning disable CA1031 // Rethrown on the caller's thread by RunBatched.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            item.Error = ex;
        }

        Completed(1, item.Rows, started, failed);
    }

    /// <summary>Joins the inputs, runs once and hands each request its rows; false when the outputs do not split by rows.</summary>
    private bool TryRunJoined(PendingBatch batch)
    {
        var items = batch.Items;
        var first = items[0];
        var outputCount = first.OutputCount;
        var joined = new HostTensor[first.Inputs.Length];
        var outputs = new IOutputTensor?[outputCount];
        try
        {
            for (var i = 0; i < joined.Length; i++)
            {
                joined[i] = new HostTensor();
                TensorBatching.InitializeJoined(joined[i], first.Inputs[i], batch.Rows);
                var offset = 0;
                foreach (var item in items)
                {
                    offset = TensorBatching.AppendRows(joined[i], item.Inputs[i], offset);
                }
            }

            // The run serves every caller: one caller going away must not terminate it for the others.
            _inner.Run(joined, first.Outputs, outputs, CancellationToken.None);
            foreach (var output in outputs)
            {
                if (!TensorBatching.SplitsByRows(output, batch.Rows))
                {
                    return false;
                }
            }

            var slices = new TensorSlice[outputCount];
            for (var k = 0; k < outputCount; k++)
            {
                slices[k] = new TensorSlice(outputs[k]!.Shape.Length);
            }

            long row = 0;
            foreach (var item in items)
            {
                for (var k = 0; k < outputCount; k++)
                {
                    item.Results[k] = TensorBatching.CopyRows(outputs[k]!, row, item.Rows, slices[k]);
                }

                row += item.Rows;
            }

            Interlocked.Increment(ref _joinedRuns);
            return true;
        }
        finally
        {
            foreach (var output in outputs)
            {
                output?.Dispose();
            }

            foreach (var tensor in joined)
            {
                tensor?.Dispose();
            }
        }
    }

    /// <summary>A fresh exception per caller (the same instance must not be thrown on several threads at once).</summary>
    private InferenceException ForCaller(Exception error, int requests)
    {
        var note = $" This request ran in a batch of {requests} requests joined by the dynamic batcher, and the batch failed as a whole.";
        return error is InferenceException ie
            ? new InferenceException(ie.Code, ie.Message + note, ie) { Model = ie.Model ?? Model, Tensor = ie.Tensor, OrtErrorCode = ie.OrtErrorCode, RetryAfterSeconds = ie.RetryAfterSeconds }
            : new InferenceException(ErrorCode.RuntimeFailure, $"Model '{Model}': the run failed ({error.GetType().Name}: {error.Message}).{note}", error) { Model = Model };
    }

    private void Completed(int requests, long rows, long started, bool failed)
    {
        Interlocked.Increment(ref _runs);
        if (failed)
        {
            Interlocked.Increment(ref _failedRuns);
        }

        var largest = Volatile.Read(ref _largestBatch);
        while (requests > largest)
        {
            var seen = Interlocked.CompareExchange(ref _largestBatch, requests, largest);
            if (seen == largest)
            {
                break;
            }

            largest = seen;
        }

        _observer?.RunCompleted(Model, requests, rows, Stopwatch.GetElapsedTime(started), failed);
    }

    private BatchItem RentItem()
    {
        lock (_gate)
        {
            if (_freeItems.TryPop(out var item))
            {
                return item;
            }
        }

        return new BatchItem(_inner.Inputs.Count, _inner.Outputs.Count);
    }

    private void ReturnItem(BatchItem item)
    {
        item.Clear();
        lock (_gate)
        {
            if (_freeItems.Count < MaxPooled)
            {
                _freeItems.Push(item);
                return;
            }
        }

        item.Dispose();
    }
}
