using System.Diagnostics;
using System.Security.Cryptography;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Observability;

namespace Serverless.Core.Storage;

/// <summary>
/// Turns a manifest's artifact key into a verified local file. From a remote store it streams the object
/// into a temporary file in the cache folder, hashing (SHA-256) and counting bytes on the way, and only a
/// file whose size and hash match the manifest is renamed to <c>&lt;cache&gt;/&lt;name&gt;/&lt;version&gt;/&lt;sha256&gt;.onnx</c>;
/// anything else is deleted and reported as IntegrityFailure. From a local <c>file://</c> store nothing is
/// copied: the file is hashed in place and loaded from where it is.
/// </summary>
/// <remarks>
/// Every load hashes the bytes it hands on, cached or not: a file's name, size or a marker beside it proves
/// nothing about its content, and SHA-256 of a model costs a few milliseconds per MB against the session
/// creation that follows. A cached copy that fails is reported, deleted and downloaded once more; the
/// returned <see cref="VerifiedArtifact.Sha256"/> is the hash just computed, so whatever is derived from the
/// file (the optimized graph) is keyed by the bytes it was really built from. Temporary files carry the
/// writing process's id, so those of a process that no longer runs are removed by <see cref="RemoveOrphans"/>.
/// </remarks>
public sealed class VerifiedModelCache : IModelArtifactSource
{
    private const int BufferSize = 1 << 17;
    private readonly IObjectStore _store;
    private readonly IntegrityEvents _events;

    public VerifiedModelCache(IObjectStore store, string cacheDirectory, IntegrityEvents? events = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        _store = store;
        _events = events ?? new IntegrityEvents();
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

    /// <summary>
    /// A temporary file's name for <paramref name="finalPath"/>: hidden, with this process's id, ending in <c>.tmp</c>.
    /// </summary>
    public static string TempPathFor(string finalPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(finalPath);
        return Path.Combine(Path.GetDirectoryName(finalPath)!, $".{Path.GetFileName(finalPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>
    /// Deletes the temporary files (<c>*.tmp</c>, and a graph's <c>*.tmp.sha256</c>) under <paramref name="folder"/>
    /// that no running process is writing: those of a download or save killed mid-way. Returns how many went.
    /// </summary>
    public static int RemoveOrphans(string folder, IntegrityEvents? events = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var removed = 0;
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*.tmp*", SearchOption.AllDirectories))
            {
                if ((file.EndsWith(".tmp", StringComparison.Ordinal) || file.EndsWith(".tmp.sha256", StringComparison.Ordinal))
                    && !WriterIsRunning(Path.GetFileName(file)) && TryDelete(file))
                {
                    removed++;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder that cannot be listed keeps its leftovers; they are never mistaken for models.
        }

        events?.OrphansRemoved(folder, removed);
        return removed;
    }

    public async Task<VerifiedArtifact> GetAsync(ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(version);
        var watch = Stopwatch.StartNew();
        if (_store is LocalObjectStore local)
        {
            var (path, sha) = VerifyInPlace(local, manifest, version, _events, cancellationToken);
            return new VerifiedArtifact(path, version.Size, sha, Downloaded: false, watch.Elapsed.TotalMilliseconds);
        }

        var target = CachedPath(manifest, version);
        var evicted = false;
        if (File.Exists(target))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (length, sha) = HashFile(target);
            if (length == version.Size && string.Equals(sha, version.Sha256, StringComparison.Ordinal))
            {
                return new VerifiedArtifact(target, length, sha, Downloaded: false, watch.Elapsed.TotalMilliseconds);
            }

            _events.CachedArtifactRejected(manifest.Name, version.Version, target, Describe(version, length, sha));
            DeleteCachedCopy(target);
            evicted = true;
        }

        var downloaded = await DownloadAsync(manifest, version, target, evicted, cancellationToken).ConfigureAwait(false);
        return new VerifiedArtifact(target, version.Size, downloaded, Downloaded: true, watch.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// Deletes the cached copy of a version so the next <see cref="GetAsync"/> downloads it again; false for a
    /// local store, whose files are the store itself and are never deleted.
    /// </summary>
    public bool Evict(ModelManifest manifest, ModelVersionManifest version)
    {
        if (_store is LocalObjectStore)
        {
            return false;
        }

        DeleteCachedCopy(CachedPath(manifest, version));
        return true;
    }

    private static (string Path, string Sha) VerifyInPlace(LocalObjectStore local, ModelManifest manifest, ModelVersionManifest version, IntegrityEvents events, CancellationToken cancellationToken)
    {
        var path = local.GetFullPath(version.Artifact);
        if (!File.Exists(path))
        {
            throw new InferenceException(ErrorCode.NotFound,
                $"Model '{manifest.Name}' version {version.Version}: the artifact '{version.Artifact}' does not exist in the store {local.Root}. " +
                "Run ./build.sh setup to fetch the models, or publish them to this store.") { Model = manifest.Name };
        }

        // Hashed synchronously: loads already run off the request's thread, and a local file read in 128 KB
        // blocks costs less than the asynchronous path's thread hops on a cold start.
        cancellationToken.ThrowIfCancellationRequested();
        var (length, sha) = HashFile(path);
        if (length != version.Size || !string.Equals(sha, version.Sha256, StringComparison.Ordinal))
        {
            var error = Mismatch(manifest, version, length, sha, path, "The file was not used; it is the store's own copy, so replace it there (./build.sh setup for the bundled models). ");
            events.DownloadRejected(manifest.Name, version.Version, path, error.Message);
            throw error;
        }

        return (path, sha);
    }

    private static (long Length, string Sha) HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
        var sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        return (stream.Length, sha);
    }

    private static string Describe(ModelVersionManifest version, long actualSize, string actualSha) =>
        $"Expected SHA-256 {version.Sha256} and {version.Size} bytes, found SHA-256 {actualSha} and {actualSize} bytes.";

    /// <summary>Downloads, verifies and renames into place; returns the SHA-256 of the bytes kept.</summary>
    private async Task<string> DownloadAsync(ModelManifest manifest, ModelVersionManifest version, string target, bool afterEviction, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(target)!;
        var temp = TempPathFor(target);
        if (afterEviction)
        {
            _events.Redownloading(manifest.Name, version.Version);
        }

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

            var (length, sha) = await CopyAndHashAsync(manifest, version, temp, folder, afterEviction, cancellationToken).ConfigureAwait(false);
            if (length != version.Size || !string.Equals(sha, version.Sha256, StringComparison.Ordinal))
            {
                throw Rejected(manifest, version, length, sha, afterEviction, atLeast: false);
            }

            File.Move(temp, target, overwrite: true);
            return sha;
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

    private async Task<(long Length, string Sha)> CopyAndHashAsync(ModelManifest manifest, ModelVersionManifest version, string temp, string folder, bool afterEviction, CancellationToken cancellationToken)
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
                            throw Rejected(manifest, version, length, actualSha: null, afterEviction, atLeast: true);
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

    /// <summary>The store served bytes that do not match the manifest: reported, counted and thrown as IntegrityFailure (502).</summary>
    private InferenceException Rejected(ModelManifest manifest, ModelVersionManifest version, long actualSize, string? actualSha, bool afterEviction, bool atLeast)
    {
        var source = _store.Root + version.Artifact;
        var error = Mismatch(manifest, version, actualSize, actualSha, source,
            afterEviction
                ? "The cached copy was corrupt and was deleted, and the store's copy fails too, so the store itself holds bad bytes; nothing was cached. "
                : "The file was not used or cached. ",
            atLeast);
        _events.DownloadRejected(manifest.Name, version.Version, source, error.Message);
        return error;
    }

    private static InferenceException Mismatch(ModelManifest manifest, ModelVersionManifest version, long actualSize, string? actualSha, string where, string what, bool atLeast = false)
    {
        var sizeText = atLeast
            ? $"more than {version.Size} bytes arrived (the manifest says {version.Size})"
            : actualSize != version.Size ? $"size {actualSize} bytes, expected {version.Size}" : $"size {actualSize} bytes as expected";
        var shaText = actualSha is null ? "SHA-256 not computed" : $"SHA-256 {actualSha}";
        return new InferenceException(ErrorCode.IntegrityFailure,
            $"Model '{manifest.Name}' version {version.Version} failed verification: expected SHA-256 {version.Sha256}, got {shaText}; {sizeText} ({where}). " +
            what +
            "Re-publish the artifact, or fix the manifest's sha256/size if the model was intentionally replaced.")
        { Model = manifest.Name };
    }

    /// <summary>Deletes a cached copy and the marker older versions wrote beside it.</summary>
    private static void DeleteCachedCopy(string target)
    {
        TryDelete(target);
        TryDelete(target + ".verified");
    }

    /// <summary>Whether the process that named a temporary file (<c>.name.PID.guid.tmp</c>) still runs; unnamed ones have none.</summary>
    private static bool WriterIsRunning(string fileName)
    {
        var parts = (fileName.EndsWith(".sha256", StringComparison.Ordinal) ? fileName[..^".sha256".Length] : fileName).Split('.');
        if (parts.Length < 4 || !int.TryParse(parts[^3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        if (pid == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover hidden temporary file is never mistaken for a model (only <sha>.onnx is), and start-up removes it.
            return false;
        }
    }
}
