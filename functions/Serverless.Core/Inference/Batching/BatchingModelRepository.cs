using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Serverless.Core.Models;

namespace Serverless.Core.Inference.Batching;

/// <summary>
/// An <see cref="IModelRepository"/> decorator whose leases hand out a <see cref="DynamicBatcher"/> around the
/// registry's session, so any host turns dynamic batching on by wrapping its repository and the protocol
/// handler stays unchanged. One batcher per live session (cached by the session, so a reloaded model gets a
/// fresh one); its maximum batch is <see cref="DynamicBatchingOptions.MaxBatchSize"/> or else the manifest's
/// <c>maxBatchSize</c>. The batch is run under the leader's lease, and every caller holds its own lease while
/// it waits, so eviction can never dispose a session under a batch.
/// </summary>
public sealed class BatchingModelRepository : IModelRepository
{
    private readonly IModelRepository _inner;
    private readonly DynamicBatchingOptions _options;
    private readonly ConditionalWeakTable<IInferenceSession, DynamicBatcher> _bySession = new();
    private readonly ConcurrentDictionary<(string Model, string Version), DynamicBatcher> _latest = new();

    public BatchingModelRepository(IModelRepository inner, DynamicBatchingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _options = options ?? new DynamicBatchingOptions();
        _options.Validate();
    }

    public IReadOnlyList<ModelManifest> Manifests => _inner.Manifests;

    public ModelManifest? Find(string name) => _inner.Find(name);

    public ModelStatus GetStatus(string name, string? version = null) => _inner.GetStatus(name, version);

    public Task<ModelStatus> CheckAsync(string name, string? version, CancellationToken cancellationToken) => _inner.CheckAsync(name, version, cancellationToken);

    public async ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        var lease = await _inner.AcquireAsync(name, version, cancellationToken).ConfigureAwait(false);
        var manifest = lease.Manifest;
        var batcher = _bySession.GetValue(lease.Session, session =>
            new DynamicBatcher(session, manifest.Name, _options.MaxBatchSize ?? manifest.MaxBatchSize, _options));
        _latest[(manifest.Name, lease.Version.Version)] = batcher;
        return new ModelLease(manifest, lease.Version, batcher, lease.Dispose) { LoadMilliseconds = lease.LoadMilliseconds };
    }

    /// <summary>
    /// The batcher of the session that last served <paramref name="name"/> (default version when
    /// <paramref name="version"/> is null), or null when none has yet. It may belong to a session evicted
    /// since; check <see cref="GetStatus"/> before reporting it as the live one.
    /// </summary>
    public DynamicBatcher? FindBatcher(string name, string? version = null)
    {
        var id = version ?? _inner.Find(name)?.DefaultVersion;
        return id is not null && _latest.TryGetValue((name, id), out var batcher) ? batcher : null;
    }

    /// <summary>Loads through <see cref="AcquireAsync"/>, so a preloaded model has its batcher (and execution provider) on record.</summary>
    public async Task LoadAsync(string name, CancellationToken cancellationToken)
    {
        using var lease = await AcquireAsync(name, null, cancellationToken).ConfigureAwait(false);
    }

    public Task UnloadAsync(string name, CancellationToken cancellationToken) => _inner.UnloadAsync(name, cancellationToken);
}
