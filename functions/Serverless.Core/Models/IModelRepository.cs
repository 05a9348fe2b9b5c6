namespace Serverless.Core.Models;

/// <summary>
/// The models a process can serve, and their life cycle. The protocol handler only ever talks to this
/// seam; where the artifacts come from (local folder, S3, Azure Blob), how they are cached and verified,
/// and which sessions stay in memory are the implementation's business.
/// </summary>
public interface IModelRepository
{
    /// <summary>Every model this process may serve (loaded or not).</summary>
    IReadOnlyList<ModelManifest> Manifests { get; }

    /// <summary>The manifest for <paramref name="name"/>, or null when the model is unknown.</summary>
    ModelManifest? Find(string name);

    /// <summary>State of a model version (the default version when <paramref name="version"/> is null), as it is now.</summary>
    ModelStatus GetStatus(string name, string? version = null);

    /// <summary>
    /// The version's state after checking that it can be served: an unchecked artifact is verified (no
    /// session is created), so readiness turns true without an inference. For a MODEL_PRELOAD model, ready
    /// means loaded. Readiness endpoints call this.
    /// </summary>
    Task<ModelStatus> CheckAsync(string name, string? version, CancellationToken cancellationToken);

    /// <summary>
    /// Returns a lease on the loaded model, loading it first when needed. Concurrent callers share one load.
    /// Throws <see cref="Errors.InferenceException"/>: NotFound for an unknown model or version, and the
    /// load's own failure (storage, integrity, runtime) otherwise.
    /// </summary>
    ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken);

    /// <summary>Loads a model (all of its default version) ahead of requests; the repository extension's load.</summary>
    Task LoadAsync(string name, CancellationToken cancellationToken);

    /// <summary>Releases a model's session once running inferences finish; the repository extension's unload.</summary>
    Task UnloadAsync(string name, CancellationToken cancellationToken);
}
