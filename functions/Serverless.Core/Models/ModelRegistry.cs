using System.Globalization;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Observability;
using Serverless.Core.Storage;

namespace Serverless.Core.Models;

/// <summary>
/// The <see cref="IModelRepository"/> every host uses: models load lazily on their first request (or at
/// start-up when preloaded), from any <see cref="IModelArtifactSource"/>. Concurrent first requests share a
/// single load (one download, one session); each waits within its own deadline, and a caller giving up never
/// cancels the shared load. A failed load is reported to every waiter and retried by a later request after an
/// exponential back-off (1 s doubling to 30 s by default); during the back-off requests get NotReady with the
/// reason and Retry-After. Sessions live in an LRU charged by estimated bytes against a memory budget;
/// eviction never disposes a session under a lease: it is disposed when its last lease ends.
/// <para>
/// No session answers unless its bytes are proven: the artifact source verifies the file's SHA-256 on every
/// load, and the session must fit the manifest's inputs and outputs (<see cref="ModelContract"/>). A verified
/// file that gives no usable session is evicted and fetched once more; if that fails too, the load fails with
/// IntegrityFailure (502), never a client error. Readiness (<see cref="GetStatus"/>, <see cref="CheckAsync"/>)
/// is in ModelRegistry.Readiness.cs.
/// </para>
/// </summary>
public sealed partial class ModelRegistry : IModelRepository, IDisposable
{
    private const int MaxAcquireAttempts = 4;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ModelManifest> _manifests = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, string Version), ModelEntry> _entries = [];
    private readonly LinkedList<LoadedModel> _lru = new();
    private readonly IModelArtifactSource _artifacts;
    private readonly IInferenceSessionFactory _factory;
    private readonly ModelRegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly IntegrityEvents _integrity;
    private readonly CancellationTokenSource _lifetime = new();
    private long _residentBytes;
    private bool _disposed;

    public ModelRegistry(IEnumerable<ModelManifest> manifests, IModelArtifactSource artifacts, IInferenceSessionFactory factory, ModelRegistryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        ArgumentNullException.ThrowIfNull(artifacts);
        ArgumentNullException.ThrowIfNull(factory);
        _artifacts = artifacts;
        _factory = factory;
        _options = options ?? new ModelRegistryOptions();
        _time = _options.TimeProvider;
        _integrity = _options.Integrity ?? new IntegrityEvents();
        var list = ModelCatalog.CheckUnique(manifests.Select(m => (m, "(registry)")));
        foreach (var manifest in list)
        {
            ModelCatalog.Validate(manifest, manifest.Name);
            _manifests.Add(manifest.Name, manifest);
            foreach (var version in manifest.Versions)
            {
                _entries.Add((manifest.Name, version.Version), new ModelEntry(manifest, version));
            }
        }

        Manifests = list;
    }

    public IReadOnlyList<ModelManifest> Manifests { get; }

    public long MemoryBudgetBytes => _options.MemoryBudgetBytes;

    /// <summary>Sum of the estimated bytes of the sessions in the LRU (evicted sessions still under lease are not counted).</summary>
    public long ResidentBytes
    {
        get
        {
            lock (_gate)
            {
                return _residentBytes;
            }
        }
    }

    /// <summary>How many loads (download + session creation) were started for a version; for tests and metrics.</summary>
    public int LoadCount(string name, string? version = null)
    {
        var entry = GetEntry(name, version);
        lock (_gate)
        {
            return entry.LoadsStarted;
        }
    }

    public ModelManifest? Find(string name) => name is not null && _manifests.TryGetValue(name, out var m) ? m : null;

    public async ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        var entry = GetEntry(name, version);
        var started = _time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            Task<LoadedModel> load;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (entry.Loaded is { } loaded)
                {
                    loaded.Leases++;
                    _lru.Remove(loaded.Node);
                    _lru.AddLast(loaded.Node);
                    return new ModelLease(entry.Manifest, entry.Version, loaded.Session, () => Release(loaded))
                    {
                        LoadMilliseconds = attempt == 1 ? 0 : _time.GetElapsedTime(started).TotalMilliseconds,
                    };
                }

                if (entry.LoadTask is null)
                {
                    var now = _time.GetUtcNow();
                    if (entry.LastError is { } error && now < entry.RetryAt)
                    {
                        throw InBackoff(entry, error, now);
                    }

                    entry.LoadTask = StartLoad(entry);
                }

                load = entry.LoadTask;
            }

            try
            {
                await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new InferenceException(ErrorCode.Timeout,
                    $"Model '{entry.Manifest.Name}' version {entry.Version.Version} is still loading and the request's deadline passed after " +
                    $"{_time.GetElapsedTime(started).TotalMilliseconds:0} ms. The load continues in the background; retry shortly.", e)
                { Model = entry.Manifest.Name, RetryAfterSeconds = 1 };
            }

            if (attempt == MaxAcquireAttempts)
            {
                // Loaded, then evicted by other loads before this request could use it, several times over.
                throw new InferenceException(ErrorCode.Overloaded,
                    $"Model '{entry.Manifest.Name}' was evicted by other models {attempt} times before this request could run. " +
                    $"The memory budget ({StorageFailures.FormatBytes(_options.MemoryBudgetBytes)}) is too small for the models in use; raise MODEL_MEMORY_BUDGET_MB or serve fewer models per function.")
                { Model = entry.Manifest.Name, RetryAfterSeconds = 1 };
            }
        }
    }

    public async Task LoadAsync(string name, CancellationToken cancellationToken)
    {
        using var lease = await AcquireAsync(name, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task UnloadAsync(string name, CancellationToken cancellationToken)
    {
        var manifest = Find(name) ?? throw UnknownModel(name);
        foreach (var version in manifest.Versions)
        {
            var entry = _entries[(name, version.Version)];
            Task<LoadedModel>? pending;
            lock (_gate)
            {
                pending = entry.LoadTask;
            }

            if (pending is not null)
            {
                try
                {
                    await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (InferenceException)
                {
                    // A failed load leaves nothing to unload.
                }
            }

            var disposeNow = new List<LoadedModel>();
            lock (_gate)
            {
                if (entry.Loaded is { } loaded)
                {
                    Evict(loaded, disposeNow);
                }

                entry.LastError = null;
                entry.Failures = 0;
            }

            DisposeAll(disposeNow);
        }
    }

    public void Dispose()
    {
        var disposeNow = new List<LoadedModel>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            while (_lru.First is { } node)
            {
                Evict(node.Value, disposeNow);
            }
        }

        _lifetime.Cancel();
        DisposeAll(disposeNow);
        WaitForNativeWork();
        _lifetime.Dispose();
    }

    /// <summary>
    /// Waits (a bounded time) for loads and checks still running: a session creation cannot be cancelled, and
    /// a process that exits while another thread is inside ONNX Runtime tears the library down under it.
    /// </summary>
    private void WaitForNativeWork()
    {
        List<Task> running = [];
        lock (_gate)
        {
            foreach (var entry in _entries.Values)
            {
                if (entry.LoadTask is { } load)
                {
                    running.Add(load);
                }

                if (entry.CheckTask is { } check)
                {
                    running.Add(check);
                }
            }
        }

        try
        {
            Task.WaitAll([.. running], TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Their failures are the requests' to report; only their end matters here.
        }
    }

    private ModelEntry GetEntry(string name, string? version)
    {
        var manifest = Find(name) ?? throw UnknownModel(name);
        var id = version ?? manifest.DefaultVersion;
        return _entries.TryGetValue((name, id), out var entry)
            ? entry
            : throw new InferenceException(ErrorCode.NotFound,
                $"Model '{name}' has no version '{ObjectKey.Printable(id)}'. Available versions: {string.Join(", ", manifest.Versions.Select(v => v.Version))}.")
            { Model = name };
    }

    private InferenceException UnknownModel(string? name) =>
        new(ErrorCode.NotFound,
            $"Model '{ObjectKey.Printable(name ?? string.Empty)}' is not served here. Available models: " +
            (Manifests.Count == 0 ? "none (check SERVERLESS_MODELS_DIR and MODEL_STORE)" : string.Join(", ", Manifests.Select(m => m.Name))) + ".")
        { Model = name };

    private InferenceException InBackoff(ModelEntry entry, Exception error, DateTimeOffset now)
    {
        var wait = entry.RetryAt - now;
        var seconds = (int)Math.Ceiling(Math.Max(wait.TotalSeconds, 0.001));
        // Bad bytes stay a 502 while the retry waits: the fault is upstream, not a model still warming up.
        var code = error is InferenceException { Code: ErrorCode.IntegrityFailure } ? ErrorCode.IntegrityFailure : ErrorCode.NotReady;
        return new InferenceException(code,
            $"Model '{entry.Manifest.Name}' version {entry.Version.Version} is not ready: loading failed {entry.Failures} time(s), " +
            $"last {(now - entry.FailedAt).TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s ago, and is retried by a request in {seconds} s. Reason: {error.Message}", error)
        { Model = entry.Manifest.Name, RetryAfterSeconds = seconds };
    }

    /// <summary>Starts the shared load on the thread pool; called under the lock.</summary>
    private Task<LoadedModel> StartLoad(ModelEntry entry)
    {
        entry.LoadsStarted++;
        var task = Task.Run(() => LoadCoreAsync(entry), CancellationToken.None);
        // Every waiter may have given up; observe the failure so it is not reported as unobserved.
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    private async Task<LoadedModel> LoadCoreAsync(ModelEntry entry)
    {
        IInferenceSession? session = null;
        try
        {
            session = await CreateProvenSessionAsync(entry).ConfigureAwait(false);
            var loaded = new LoadedModel(entry, session, _options.EstimateBytes(entry.Manifest, entry.Version));
            var disposeNow = new List<LoadedModel>();
            lock (_gate)
            {
                if (_disposed)
                {
                    throw new ObjectDisposedException(nameof(ModelRegistry));
                }

                entry.Loaded = loaded;
                entry.LoadTask = null;
                entry.LastError = null;
                entry.Failures = 0;
                _lru.AddLast(loaded.Node);
                _residentBytes += loaded.Bytes;
                for (var node = _lru.First; node is not null && _residentBytes > _options.MemoryBudgetBytes;)
                {
                    var next = node.Next;
                    if (node.Value != loaded)
                    {
                        Evict(node.Value, disposeNow);
                    }

                    node = next;
                }
            }

            DisposeAll(disposeNow);
            return loaded;
        }
        catch (Exception e)
        {
            session?.Dispose();
            var error = e switch
            {
                InferenceException ie => ie,
                ObjectDisposedException or OperationCanceledException when _lifetime.IsCancellationRequested =>
                    new InferenceException(ErrorCode.NotReady, $"Model '{entry.Manifest.Name}' was not loaded: the server is shutting down.", e) { Model = entry.Manifest.Name },
                _ => new InferenceException(ErrorCode.RuntimeFailure,
                    $"Loading model '{entry.Manifest.Name}' version {entry.Version.Version} failed: {e.Message}", e) { Model = entry.Manifest.Name },
            };
            lock (_gate)
            {
                entry.LoadTask = null;
                RecordFailure(entry, error);
            }

            if (ReferenceEquals(error, e))
            {
                throw;
            }

            throw error;
        }
    }

    /// <summary>Records a failed load or check and sets the back-off; called under the lock.</summary>
    private void RecordFailure(ModelEntry entry, InferenceException error)
    {
        entry.Failures++;
        entry.LastError = error;
        entry.FailedAt = _time.GetUtcNow();
        var delay = _options.InitialRetryDelay * Math.Pow(2, Math.Min(entry.Failures - 1, 20));
        entry.RetryAt = entry.FailedAt + (delay > _options.MaxRetryDelay ? _options.MaxRetryDelay : delay);
    }

    /// <summary>Takes a session out of service; called under the lock. It is disposed now only when no lease holds it.</summary>
    private void Evict(LoadedModel loaded, List<LoadedModel> disposeNow)
    {
        if (loaded.Evicted)
        {
            return;
        }

        loaded.Evicted = true;
        _lru.Remove(loaded.Node);
        _residentBytes -= loaded.Bytes;
        if (loaded.Entry.Loaded == loaded)
        {
            loaded.Entry.Loaded = null;
        }

        if (loaded.Leases == 0 && !loaded.Disposed)
        {
            loaded.Disposed = true;
            disposeNow.Add(loaded);
        }
    }

    private void Release(LoadedModel loaded)
    {
        var dispose = false;
        lock (_gate)
        {
            loaded.Leases--;
            if (loaded.Leases == 0 && loaded.Evicted && !loaded.Disposed)
            {
                loaded.Disposed = true;
                dispose = true;
            }
        }

        if (dispose)
        {
            loaded.Session.Dispose();
        }
    }

    private static void DisposeAll(List<LoadedModel> models)
    {
        foreach (var model in models)
        {
            model.Session.Dispose();
        }
    }
}
