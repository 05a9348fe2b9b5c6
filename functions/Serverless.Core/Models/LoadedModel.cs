using Serverless.Core.Inference;
using Serverless.Core.Storage;

namespace Serverless.Core.Models;

/// <summary>
/// One live session and its bookkeeping inside <see cref="ModelRegistry"/>. Every field is read and written
/// under the registry's lock; the session is disposed exactly once, when it has been evicted (or unloaded)
/// and its last lease has ended.
/// </summary>
internal sealed class LoadedModel
{
    public LoadedModel(ModelEntry entry, IInferenceSession session, long bytes)
    {
        Entry = entry;
        Session = session;
        Bytes = bytes;
        Node = new LinkedListNode<LoadedModel>(this);
    }

    public ModelEntry Entry { get; }

    public IInferenceSession Session { get; }

    /// <summary>Charge against the memory budget.</summary>
    public long Bytes { get; }

    /// <summary>Position in the registry's LRU list (most recently used last).</summary>
    public LinkedListNode<LoadedModel> Node { get; }

    public int Leases { get; set; }

    /// <summary>No longer reachable from its entry; disposed when <see cref="Leases"/> reaches 0.</summary>
    public bool Evicted { get; set; }

    public bool Disposed { get; set; }
}

/// <summary>Life-cycle state of one model version in <see cref="ModelRegistry"/>, guarded by the registry's lock.</summary>
internal sealed class ModelEntry(ModelManifest manifest, ModelVersionManifest version)
{
    public ModelManifest Manifest { get; } = manifest;

    public ModelVersionManifest Version { get; } = version;

    public LoadedModel? Loaded { get; set; }

    /// <summary>The one load in flight that every concurrent request awaits.</summary>
    public Task<LoadedModel>? LoadTask { get; set; }

    public Exception? LastError { get; set; }

    /// <summary>Consecutive failed loads; sets the back-off.</summary>
    public int Failures { get; set; }

    public DateTimeOffset FailedAt { get; set; }

    public DateTimeOffset RetryAt { get; set; }

    /// <summary>Loads started (downloads plus session creations); for tests and metrics.</summary>
    public int LoadsStarted { get; set; }

    /// <summary>The artifact as last verified (by a readiness check or a load); the model is servable.</summary>
    public VerifiedArtifact? Verified { get; set; }

    /// <summary>The one readiness check (artifact verification, no session) in flight.</summary>
    public Task? CheckTask { get; set; }
}
