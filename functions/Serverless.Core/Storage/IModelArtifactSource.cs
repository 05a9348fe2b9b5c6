using Serverless.Core.Models;

namespace Serverless.Core.Storage;

/// <summary>
/// Produces a local, verified file for a model version: the seam between the registry (which creates
/// sessions) and wherever artifacts live. <see cref="VerifiedModelCache"/> is the real one; registry unit
/// tests use a hand-written fake that counts calls.
/// </summary>
public interface IModelArtifactSource
{
    /// <summary>
    /// Returns a file whose size and SHA-256 match <paramref name="version"/>. Throws InferenceException:
    /// NotFound, StorageUnavailable, IntegrityFailure or InsufficientStorage.
    /// </summary>
    Task<VerifiedArtifact> GetAsync(ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken);

    /// <summary>
    /// Forgets the local copy of a version (its bytes verified, yet it gave no usable session), so the next
    /// <see cref="GetAsync"/> fetches it again. False when there is no copy to forget (the store's own file).
    /// </summary>
    bool Evict(ModelManifest manifest, ModelVersionManifest version);
}

/// <summary>A verified model file on local disk, and how it was obtained.</summary>
/// <param name="Path">Absolute path of the file; it stays valid for the life of the process.</param>
/// <param name="Sha256">The SHA-256 of the bytes just verified (what derived files are keyed by).</param>
/// <param name="Downloaded">True when bytes were fetched from a remote store for this call.</param>
/// <param name="Milliseconds">Time spent obtaining and verifying the file.</param>
public sealed record VerifiedArtifact(string Path, long Size, string Sha256, bool Downloaded, double Milliseconds);
