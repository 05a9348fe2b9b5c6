using System.Runtime.CompilerServices;
using Serverless.Core.Errors;

namespace Serverless.Core.Storage;

/// <summary>
/// An object store over a local folder (<c>file:///abs/path</c> or a relative path). Keys are validated by
/// <see cref="ObjectKey"/> and, after symlinks are resolved, must still land inside the root, so neither
/// "../" nor a link pointing elsewhere can reach files outside it. Writes go to a temporary file in the
/// target folder and are renamed into place, so readers never see half an object.
/// </summary>
public sealed class LocalObjectStore : IObjectStore
{
    private readonly string _rootPrefix;

    public LocalObjectStore(string rootPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootPath);
        RootPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootPath));
        _rootPrefix = RootPath + Path.DirectorySeparatorChar;
        Root = new Uri(RootPath + Path.DirectorySeparatorChar).AbsoluteUri;
    }

    /// <summary>The root folder as an absolute path.</summary>
    public string RootPath { get; }

    public string Root { get; }

    /// <summary>
    /// Opens a store from <c>file:///abs/path</c> (<c>file://host/path</c> is rejected as ambiguous) or from a plain
    /// path is taken relative to <paramref name="baseDirectory"/> (the current directory when null).
    /// </summary>
    public static LocalObjectStore FromUri(string uriOrPath, string? baseDirectory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(uriOrPath);
        if (uriOrPath.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(uriOrPath, UriKind.Absolute, out var uri) || !uri.IsFile || !string.IsNullOrEmpty(uri.Host))
            {
                throw new InferenceException(ErrorCode.InvalidInput,
                    $"The store URI '{uriOrPath}' is not a valid file URI. Use file:///absolute/path (three slashes) or a plain relative path.");
            }

            return new LocalObjectStore(uri.LocalPath);
        }

        return new LocalObjectStore(Path.GetFullPath(uriOrPath, baseDirectory ?? Directory.GetCurrentDirectory()));
    }

    /// <summary>
    /// The absolute path of <paramref name="key"/> (which need not exist). Throws InvalidInput for a bad key
    /// and for a key that resolves, through symlinks, outside the root.
    /// </summary>
    public string GetFullPath(string key)
    {
        ObjectKey.Validate(key);
        var full = Path.GetFullPath(Path.Combine(RootPath, key.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(_rootPrefix, StringComparison.Ordinal))
        {
            throw Escapes(key);
        }

        var realRoot = RealPath(RootPath);
        var real = RealPath(full);
        if (!real.StartsWith(realRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw Escapes(key);
        }

        return full;
    }

    public Task<ObjectProperties?> GetPropertiesAsync(string key, CancellationToken cancellationToken)
    {
        var info = new FileInfo(GetFullPath(key));
        return Task.FromResult(info.Exists
            ? new ObjectProperties(key, info.Length, null, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero))
            : null);
    }

    public Task<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var path = GetFullPath(key);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InferenceException(ErrorCode.NotFound,
                $"The object '{key}' does not exist in the store {Root}. Check the manifest's artifact key, or publish the model to this store.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InferenceException(ErrorCode.StorageUnavailable,
                $"The object '{key}' in the store {Root} cannot be read: permission denied. Fix the file's permissions.", e);
        }

        if (offset > 0)
        {
            stream.Seek(offset, SeekOrigin.Begin);
        }

        return Task.FromResult<Stream>(length is { } n ? new BoundedReadStream(stream, n) : stream);
    }

    public async Task PutAsync(string key, Stream content, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = GetFullPath(key);
        var folder = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        long written = 0;
        try
        {
            Directory.CreateDirectory(folder);
            // The folder may have been created through a symlink planted after validation; check again.
            GetFullPath(key);
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                written = file.Length;
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (StorageFailures.IsDiskFull(e))
            {
                throw StorageFailures.DiskFull($"the object '{key}'", Math.Max(written, content.CanSeek ? content.Length : written), folder, e);
            }

            if (e is UnauthorizedAccessException)
            {
                throw new InferenceException(ErrorCode.StorageUnavailable,
                    $"Cannot write '{key}' into the store {Root}: permission denied. Fix the folder's permissions.", e);
            }

            throw;
        }
    }

    public async IAsyncEnumerable<ObjectProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(prefix);
        if (!Directory.Exists(RootPath))
        {
            yield break;
        }

        // Start at the deepest folder the prefix names, so listing "model/" does not walk the whole store.
        var slash = prefix.LastIndexOf('/');
        var startKey = slash < 0 ? string.Empty : prefix[..slash];
        var start = startKey.Length == 0 ? RootPath : GetFullPath(startKey);
        if (!Directory.Exists(start))
        {
            yield break;
        }

        var pending = new Stack<string>();
        pending.Push(start);
        var results = new List<ObjectProperties>();
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var folder = pending.Pop();
            foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
            {
                // Hidden entries are our own temporary files (and dotfiles nobody publishes as models).
                if (entry.Name.StartsWith('.'))
                {
                    continue;
                }

                var key = Path.GetRelativePath(RootPath, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (entry is DirectoryInfo dir)
                {
                    // Linked folders are not followed: they could lead out of the root or into a cycle.
                    var relevant = (key + "/").StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(key + "/", StringComparison.Ordinal);
                    if (relevant && dir.LinkTarget is null)
                    {
                        pending.Push(dir.FullName);
                    }
                }
                else if (entry is FileInfo file && key.StartsWith(prefix, StringComparison.Ordinal) && ObjectKey.IsValid(key) && IsInsideRoot(file))
                {
                    results.Add(new ObjectProperties(key, new FileInfo(RealPath(file.FullName)).Length, null, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero)));
                }
            }
        }

        results.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var item in results)
        {
            yield return item;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private bool IsInsideRoot(FileInfo file) =>
        file.LinkTarget is null || RealPath(file.FullName).StartsWith(RealPath(RootPath) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>
    /// Resolves symlinks component by component (like realpath(3)) for the part of the path that exists;
    /// the rest is appended as is.
    /// </summary>
    internal static string RealPath(string fullPath)
    {
        var root = Path.GetPathRoot(fullPath)!;
        var current = root;
        var parts = fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists && info.LinkTarget is null)
            {
                return Path.Combine([next, .. parts[(i + 1)..]]);
            }

            if (info.LinkTarget is not null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                next = target is null ? next : Path.GetFullPath(target.FullName);
                // A link's target may itself contain links in its parent folders.
                next = next == Path.Combine(current, parts[i]) ? next : RealPath(next);
            }

            current = next;
        }

        return current;
    }

    private InferenceException Escapes(string key) =>
        new(ErrorCode.InvalidInput, $"The object key '{ObjectKey.Printable(key)}' resolves outside the store root {Root} (through '..' or a symbolic link) and is refused.");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover hidden .tmp file is skipped by ListAsync and never served.
        }
    }
}
