using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Serverless.Core.Errors;
using Serverless.Core.Models;

namespace Serverless.Core.Storage;

/// <summary>
/// Turns a manifest's artifact key into a verified local file. From a remote store it streams the object
/// into a temporary file in the cache folder, hashing (SHA-256) and counting bytes on the way, and only a
/// file whose size and hash match the manifest is renamed to <c>&lt;cache&gt;/&lt;name&gt;/&lt;version&gt;/&lt;sha256&gt;.onnx</c>;
/// anything else is deleted and reported as IntegrityFailure. From a local <c>file://</c> store nothing is
/// copied: the file is hashed in place once per process and loaded from where it is.
/// </summary>
/// <remarks>
/// A warm process (or a later process on the same disk, like a re-used Lambda sandbox) trusts a cached file
/// when its size matches and a <c>.verified</c> marker sits next to it. The marker is written only after the
/// verified rename, and the file name is the hash itself, so a partial or foreign file can only appear there
/// by someone writing into the cache by hand; re-hashing instead would cost ~30 ms per 10 MB on every cold
/// start, which is what the cache exists to avoid. Delete the cache folder to force re-verification.
/// </remarks>
public sealed class VerifiedModelCache : IModelArtifactSource
{
    private const int BufferSize = 1 << 17;
    private readonly IObjectStore _store;
    private readonly ConcurrentDictionary<string, (long Size, DateTime Modified)> _verifiedInPlace = new(StringComparer.Ordinal);

    public VerifiedModelCache(IObjectStore store, string cacheDirectory)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        _store = store;
        CacheDirectory = Path.GetFullPath(cacheDirectory);
    }

    public string CacheDirectory { get; }

    public IObjectStore Store => _store;

    /// <summary>Creates the temporary download file; a seam so tests can simulate a full disk.</summary>
    internal Func<string, Stream> CreateTempFile { get; init; } = path =>
        new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);

    /// <summary>Where the verified copy of a version lives in the cache (for remote stores).</summary>
    public string CachedPath(ModelManifest manifest, ModelVersionManifest version)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(version);
        return Path.Combine(CacheDirectory, manifest.Name, version.Version, version.Sha256 + ".onnx");
    }

    public async Task<VerifiedArtifact> GetAsync(ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(version);
        var watch = Stopwatch.StartNew();
        if (_store is LocalObjectStore local)
        {
            var path = await VerifyInPlaceAsync(local, manifest, version, cancellationToken).ConfigureAwait(false);
            return new VerifiedArtifact(path, version.Size, version.Sha256, Downloaded: false, watch.Elapsed.TotalMilliseconds);
        }

        var target = CachedPath(manifest, version);
        if (IsCachedAndVerified(target, version))
        {
            return new VerifiedArtifact(target, version.Size, version.Sha256, Downloaded: false, watch.Elapsed.TotalMilliseconds);
        }

        await DownloadAsync(manifest, version, target, cancellationToken).ConfigureAwait(false);
        return new VerifiedArtifact(target, version.Size, version.Sha256, Downloaded: true, watch.Elapsed.TotalMilliseconds);
    }

    private async Task<string> VerifyInPlaceAsync(LocalObjectStore local, ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken)
    {
        var path = local.GetFullPath(version.Artifact);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new InferenceException(ErrorCode.NotFound,
                $"Model '{manifest.Name}' version {version.Version}: the artifact '{version.Artifact}' does not exist in the store {local.Root}. " +
                "Run ./build.sh setup to fetch the models, or publish them to this store.") { Model = manifest.Name };
        }

        var stamp = (info.Length, info.LastWriteTimeUtc);
        if (_verifiedInPlace.TryGetValue(path, out var seen) && seen == stamp)
        {
            return path;
        }

        if (info.Length != version.Size)
        {
            throw Mismatch(manifest, version, info.Length, actualSha: null, where: path, cached: false);
        }

        // Hashed synchronously: loads already run off the request's thread, and a local file read in 128 KB
        // blocks costs less than the asynchronous path's thread hops on a cold start.
        string sha;
        cancellationToken.ThrowIfCancellationRequested();
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan))
        {
            sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        }

        if (!string.Equals(sha, version.Sha256, StringComparison.Ordinal))
        {
            throw Mismatch(manifest, version, info.Length, sha, path, cached: false);
        }

        _verifiedInPlace[path] = stamp;
        return path;
    }

    private static bool IsCachedAndVerified(string target, ModelVersionManifest version)
    {
        var file = new FileInfo(target);
        if (!file.Exists || file.Length != version.Size)
        {
            return false;
        }

        try
        {
            return File.ReadAllText(target + ".verified").Trim() == MarkerText(version);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string MarkerText(ModelVersionManifest version) =>
        string.Create(CultureInfo.InvariantCulture, $"sha256={version.Sha256} size={version.Size}");

    private async Task DownloadAsync(ModelManifest manifest, ModelVersionManifest version, string target, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(folder, $".{version.Sha256}.{Guid.NewGuid():N}.tmp");
        try
        {
            try
            {
                Directory.CreateDirectory(folder);
            }
            catch (IOException e) when (StorageFailures.IsDiskFull(e))
            {
                throw StorageFailures.DiskFull($"model '{manifest.Name}' version {version.Version}", version.Size, folder, e);
            }

            if (StorageFailures.TryGetFreeBytes(folder) is { } free && free < version.Size)
            {
                throw StorageFailures.DiskFull($"model '{manifest.Name}' version {version.Version}", version.Size, folder);
            }

            var (length, sha) = await CopyAndHashAsync(manifest, version, temp, folder, cancellationToken).ConfigureAwait(false);
            if (length != version.Size || !string.Equals(sha, version.Sha256, StringComparison.Ordinal))
            {
                throw Mismatch(manifest, version, length, sha, _store.Root + version.Artifact, cached: false);
            }

            File.Move(temp, target, overwrite: true);
            await File.WriteAllTextAsync(target + ".verified", MarkerText(version), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (StorageFailures.IsDiskFull(e))
            {
                throw StorageFailures.DiskFull($"model '{manifest.Name}' version {version.Version}", version.Size, folder, e);
            }

            throw;
        }
    }

    private async Task<(long Length, string Sha)> CopyAndHashAsync(ModelManifest manifest, ModelVersionManifest version, string temp, string folder, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        long length = 0;
        try
        {
            var source = await _store.OpenReadAsync(version.Artifact, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                var file = CreateTempFile(temp);
                await using (file.ConfigureAwait(false))
                {
                    while (true)
                    {
                        int read;
                        try
                        {
                            read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is IOException or System.Net.Http.HttpRequestException && !StorageFailures.IsDiskFull(e))
                        {
                            throw new InferenceException(ErrorCode.StorageUnavailable,
                                $"Downloading model '{manifest.Name}' version {version.Version} ('{version.Artifact}' from {_store.Root}) was interrupted " +
                                $"after {length} of {version.Size} bytes: {e.Message} Nothing was cached; the next request retries.", e) { Model = manifest.Name };
                        }

                        if (read == 0)
                        {
                            break;
                        }

                        length += read;
                        if (length > version.Size)
                        {
                            // Stop early: an object larger than the manifest says can never verify.
                            throw Mismatch(manifest, version, length, actualSha: null, _store.Root + version.Artifact, cached: false, atLeast: true);
                        }

                        hash.AppendData(buffer, 0, read);
                        try
                        {
                            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        }
                        catch (IOException e) when (StorageFailures.IsDiskFull(e))
                        {
                            throw StorageFailures.DiskFull($"model '{manifest.Name}' version {version.Version}", version.Size, folder, e);
                        }
                    }

                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static InferenceException Mismatch(ModelManifest manifest, ModelVersionManifest version, long actualSize, string? actualSha, string where, bool cached, bool atLeast = false)
    {
        var sizeText = atLeast
            ? $"more than {version.Size} bytes arrived (the manifest says {version.Size})"
            : actualSize != version.Size ? $"size {actualSize} bytes, expected {version.Size}" : $"size {actualSize} bytes as expected";
        var shaText = actualSha is null ? "SHA-256 not computed" : $"SHA-256 {actualSha}";
        return new InferenceException(ErrorCode.IntegrityFailure,
            $"Model '{manifest.Name}' version {version.Version} failed verification: expected SHA-256 {version.Sha256}, got {shaText}; {sizeText} ({where}). " +
            (cached ? string.Empty : "The file was not used or cached. ") +
            "Re-publish the artifact, or fix the manifest's sha256/size if the model was intentionally replaced.")
        { Model = manifest.Name };
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover hidden temporary file is never mistaken for a model: only <sha>.onnx plus its marker is.
        }
    }
}
