using System.Security.Cryptography;
using Serverless.Core.Errors;
using Serverless.Core.Models;

namespace Serverless.Core.Storage;

/// <summary>
/// Uploads models to a store so functions can load them lazily: each version's artifact (from the local
/// store) and then <c>&lt;name&gt;/model.json</c>, which makes the model visible to a deployment that reads
/// its catalog from the store. An artifact is verified against its manifest before it is sent (a corrupt
/// local file is never published) and skipped when the destination already holds an object of the same
/// size. Stores do not expose a SHA-256 we could compare (S3 ETags are MD5 or multipart hashes), so the
/// size check is the skip rule and the registry's download verification is the safety net.
/// </summary>
public sealed class ModelPublisher
{
    private const int BufferSize = 1 << 17;
    private readonly IObjectStore _source;
    private readonly IObjectStore _destination;

    public ModelPublisher(IObjectStore source, IObjectStore destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        _source = source;
        _destination = destination;
    }

    /// <summary>
    /// Publishes every version of every manifest, artifacts first and manifests last (a reader never sees a
    /// manifest whose artifact is missing). Progress is reported per chunk and once per object at the end.
    /// </summary>
    public async Task<PublishResult> PublishAsync(IReadOnlyList<ModelManifest> manifests, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        var uploaded = new List<string>();
        var skipped = new List<string>();
        long bytes = 0;
        foreach (var manifest in manifests)
        {
            ModelCatalog.Validate(manifest, manifest.Name);
            foreach (var version in manifest.Versions)
            {
                var existing = await _destination.GetPropertiesAsync(version.Artifact, cancellationToken).ConfigureAwait(false);
                if (existing?.Size == version.Size)
                {
                    skipped.Add(version.Artifact);
                    progress?.Report(new TransferProgress(version.Artifact, version.Size, version.Size, TransferStage.Skipped));
                    continue;
                }

                await VerifySourceAsync(manifest, version, progress, cancellationToken).ConfigureAwait(false);
                var stream = await _source.OpenReadAsync(version.Artifact, cancellationToken: cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    var counting = new ProgressReadStream(stream, version.Size, bytesRead => progress?.Report(new TransferProgress(version.Artifact, bytesRead, version.Size, TransferStage.Uploading)));
                    await _destination.PutAsync(version.Artifact, counting, "application/octet-stream", cancellationToken).ConfigureAwait(false);
                }

                bytes += version.Size;
                uploaded.Add(version.Artifact);
                progress?.Report(new TransferProgress(version.Artifact, version.Size, version.Size, TransferStage.Completed));
            }
        }

        foreach (var manifest in manifests)
        {
            var key = $"{manifest.Name}/{ModelCatalog.ManifestFileName}";
            var json = ModelCatalog.Serialize(manifest);
            using var content = new MemoryStream(json, writable: false);
            await _destination.PutAsync(key, content, "application/json", cancellationToken).ConfigureAwait(false);
            bytes += json.Length;
            uploaded.Add(key);
            progress?.Report(new TransferProgress(key, json.Length, json.Length, TransferStage.Completed));
        }

        return new PublishResult(uploaded, skipped, bytes);
    }

    private async Task VerifySourceAsync(ModelManifest manifest, ModelVersionManifest version, IProgress<TransferProgress>? progress, CancellationToken cancellationToken)
    {
        var stream = await _source.OpenReadAsync(version.Artifact, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[BufferSize];
            long total = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                total += read;
                progress?.Report(new TransferProgress(version.Artifact, total, version.Size, TransferStage.Verifying));
            }

            var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (total != version.Size || sha != version.Sha256)
            {
                throw new InferenceException(ErrorCode.IntegrityFailure,
                    $"Refusing to publish model '{manifest.Name}' version {version.Version}: the local artifact '{version.Artifact}' in {_source.Root} " +
                    $"has SHA-256 {sha} and {total} bytes, but the manifest expects {version.Sha256} and {version.Size} bytes. Run ./build.sh setup to re-fetch it.")
                { Model = manifest.Name };
            }
        }
    }
}

/// <summary>What a publish did: keys uploaded (artifacts then manifests), artifact keys skipped as already present, and bytes sent.</summary>
public sealed record PublishResult(IReadOnlyList<string> Uploaded, IReadOnlyList<string> Skipped, long BytesUploaded);
