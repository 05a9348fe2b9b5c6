using System.Security.Cryptography;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Observability;
using Serverless.Core.Storage;

namespace Serverless.Core.Tests.Storage;

public sealed class VerifiedModelCacheTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly byte[] _bytes = RandomNumberGenerator.GetBytes(300_000);
    private readonly ModelManifest _manifest;
    private readonly CountingObjectStore _remote;

    public VerifiedModelCacheTests()
    {
        _temp.Write("store/m/1/model.onnx", _bytes);
        _manifest = new ModelManifest
        {
            Name = "m",
            DefaultVersion = "1",
            Versions = [new ModelVersionManifest { Version = "1", Artifact = "m/1/model.onnx", Sha256 = Convert.ToHexStringLower(SHA256.HashData(_bytes)), Size = _bytes.Length }],
        };
        _remote = new CountingObjectStore(new LocalObjectStore(_temp.Combine("store")));
    }

    private ModelVersionManifest Version => _manifest.Versions[0];

    private string CacheDir => _temp.Combine("cache");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Get_FromARemoteStore_DownloadsVerifiesAndCachesUnderTheHash()
    {
        var cache = new VerifiedModelCache(_remote, CacheDir);

        var artifact = await cache.GetAsync(_manifest, Version, default);

        Assert.True(artifact.Downloaded);
        Assert.Equal(Path.Combine(CacheDir, "m", "1", Version.Sha256 + ".onnx"), artifact.Path);
        Assert.Equal(_bytes, File.ReadAllBytes(artifact.Path));
        Assert.Equal(Version.Sha256, artifact.Sha256);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(artifact.Path)!));
    }

    [Fact]
    public async Task Get_WhenAlreadyCached_ReusesTheFileWithoutReadingTheStore()
    {
        await new VerifiedModelCache(_remote, CacheDir).GetAsync(_manifest, Version, default);

        // A new cache object: what a later process on the same disk sees.
        var artifact = await new VerifiedModelCache(_remote, CacheDir).GetAsync(_manifest, Version, default);

        Assert.False(artifact.Downloaded);
        Assert.Equal(1, _remote.Reads);
    }

    [Fact]
    public async Task Get_WhenTheCachedCopyHasASameSizeCorruption_ReportsItDeletesItAndDownloadsTheTrueBytes()
    {
        var first = await new VerifiedModelCache(_remote, CacheDir).GetAsync(_manifest, Version, default);
        var corrupt = File.ReadAllBytes(first.Path);
        corrupt[150_000] ^= 0x01;
        File.WriteAllBytes(first.Path, corrupt);
        File.WriteAllText(first.Path + ".verified", $"sha256={Version.Sha256} size={Version.Size}"); // what older versions trusted
        using var events = new IntegrityEvents();

        var second = await new VerifiedModelCache(_remote, CacheDir, events).GetAsync(_manifest, Version, default);

        Assert.True(second.Downloaded);
        Assert.Equal(2, _remote.Reads);
        Assert.Equal(_bytes, File.ReadAllBytes(second.Path));
        Assert.Equal(new IntegritySnapshot(Failures: 1, Redownloads: 1, OrphansRemoved: 0), events.Snapshot());
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(second.Path)!));
    }

    [Fact]
    public async Task Get_WhenTheCachedCopyAndTheStoresCopyAreBothCorrupt_Throws502OnceWithoutLoopingAndCachesNothing()
    {
        var first = await new VerifiedModelCache(_remote, CacheDir).GetAsync(_manifest, Version, default);
        var corrupt = File.ReadAllBytes(first.Path);
        corrupt[10] ^= 0x01;
        File.WriteAllBytes(first.Path, corrupt);
        _remote.Transform = s => new FlipByteStream(s, 1234);
        using var events = new IntegrityEvents();

        var error = await Assert.ThrowsAsync<InferenceException>(() => new VerifiedModelCache(_remote, CacheDir, events).GetAsync(_manifest, Version, default));

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Equal(502, error.HttpStatus);
        Assert.Contains("the store itself holds bad bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, _remote.Reads);
        Assert.Equal(new IntegritySnapshot(Failures: 2, Redownloads: 1, OrphansRemoved: 0), events.Snapshot());
        Assert.Empty(Directory.GetFiles(CacheDir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task RemoveOrphans_DeletesTheTempFilesOfAKilledDownload_AndKeepsModelsAndLiveDownloads()
    {
        await new VerifiedModelCache(_remote, CacheDir).GetAsync(_manifest, Version, default);
        var dead = await DeadProcessIdAsync();
        var folder = Path.Combine(CacheDir, "m", "1");
        var killed = Path.Combine(folder, $".{Version.Sha256}.onnx.{dead}.{Guid.NewGuid():N}.tmp");
        var older = Path.Combine(folder, $".{Version.Sha256}.{Guid.NewGuid():N}.tmp");
        var graph = Path.Combine(CacheDir, "optimized", $".m-abc.onnx.{dead}.{Guid.NewGuid():N}.tmp");
        var live = VerifiedModelCache.TempPathFor(Path.Combine(folder, Version.Sha256 + ".onnx"));
        foreach (var file in new[] { killed, older, graph, graph + ".sha256", live })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, new byte[100]);
        }

        using var events = new IntegrityEvents();
        var removed = VerifiedModelCache.RemoveOrphans(CacheDir, events);

        Assert.Equal(4, removed);
        Assert.Equal(4, events.Snapshot().OrphansRemoved);
        Assert.Equal(
            new[] { Path.Combine(folder, Version.Sha256 + ".onnx"), live }.Order(StringComparer.Ordinal),
            Directory.GetFiles(CacheDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
    }

    /// <summary>The id of a process that has exited (a short-lived child's).</summary>
    private static async Task<int> DeadProcessIdAsync()
    {
        using var child = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        await child.WaitForExitAsync();
        return child.Id;
    }

    [Fact]
    public async Task Get_WithACorruptObject_ThrowsIntegrityFailureNamingBothHashesAndCachesNothing()
    {
        _remote.Transform = s => new FlipByteStream(s, 1234);
        var cache = new VerifiedModelCache(_remote, CacheDir);

        var error = await Assert.ThrowsAsync<InferenceException>(() => cache.GetAsync(_manifest, Version, default));

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Equal("m", error.Model);
        Assert.Contains("'m'", error.Message);
        Assert.Contains("expected SHA-256 " + Version.Sha256, error.Message);
        var corrupt = _bytes.ToArray();
        corrupt[1234] ^= 0xFF;
        Assert.Contains("got SHA-256 " + Convert.ToHexStringLower(SHA256.HashData(corrupt)), error.Message);
        Assert.Empty(Directory.GetFiles(CacheDir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Get_WithATruncatedObject_ThrowsIntegrityFailureWithBothSizesAndCachesNothing()
    {
        _remote.Transform = s => new CutShortStream(s, 100_000, throwAtCut: false);
        var cache = new VerifiedModelCache(_remote, CacheDir);

        var error = await Assert.ThrowsAsync<InferenceException>(() => cache.GetAsync(_manifest, Version, default));

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Contains($"size 100000 bytes, expected {_bytes.Length}", error.Message);
        Assert.Empty(Directory.GetFiles(CacheDir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Get_WhenTheConnectionDropsMidStream_ThrowsStorageUnavailableSayingHowFarItGot()
    {
        _remote.Transform = s => new CutShortStream(s, 131_072, throwAtCut: true);
        var cache = new VerifiedModelCache(_remote, CacheDir);

        var error = await Assert.ThrowsAsync<InferenceException>(() => cache.GetAsync(_manifest, Version, default));

        Assert.Equal(ErrorCode.StorageUnavailable, error.Code);
        Assert.Contains($"after 131072 of {_bytes.Length} bytes", error.Message);
        Assert.Empty(Directory.GetFiles(CacheDir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Get_WithAnObjectLargerThanTheManifest_StopsEarlyWithIntegrityFailure()
    {
        var small = _manifest with { Versions = [Version with { Size = 1000 }] };
        var cache = new VerifiedModelCache(_remote, CacheDir);

        var error = await Assert.ThrowsAsync<InferenceException>(() => cache.GetAsync(small, small.Versions[0], default));

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Contains("more than 1000 bytes arrived", error.Message);
    }

    [Fact]
    public async Task Get_WhenTheDiskIsFull_ThrowsInsufficientStorageNamingSizeAndFolderAndRemovesTheTempFile()
    {
        string? tempPath = null;
        var cache = new VerifiedModelCache(_remote, CacheDir)
        {
            CreateTempFile = path =>
            {
                tempPath = path;
                return new DiskFullStream(path);
            },
        };

        var error = await Assert.ThrowsAsync<InferenceException>(() => cache.GetAsync(_manifest, Version, default));

        Assert.Equal(ErrorCode.InsufficientStorage, error.Code);
        Assert.Contains(Path.Combine(CacheDir, "m", "1"), error.Message);
        Assert.Contains("292.97 KiB", error.Message);
        Assert.Contains("MODEL_CACHE_DIR", error.Message);
        Assert.NotNull(tempPath);
        Assert.False(File.Exists(tempPath));
    }

    [Fact]
    public async Task Get_FromALocalStore_VerifiesInPlaceWithoutCopying()
    {
        var store = new LocalObjectStore(_temp.Combine("store"));
        var cache = new VerifiedModelCache(store, CacheDir);

        var artifact = await cache.GetAsync(_manifest, Version, default);

        Assert.Equal(_temp.Combine("store", "m", "1", "model.onnx"), artifact.Path);
        Assert.False(artifact.Downloaded);
        Assert.False(Directory.Exists(CacheDir));
    }

    [Fact]
    public async Task Get_FromALocalStoreWithACorruptFile_ThrowsIntegrityFailure()
    {
        var corrupt = _bytes.ToArray();
        corrupt[0] ^= 1;
        _temp.Write("store/m/1/model.onnx", corrupt);
        var cache = new VerifiedModelCache(new LocalObjectStore(_temp.Combine("store")), CacheDir);

        var error = await Assert.ThrowsAsync<InferenceException>(() => cache.GetAsync(_manifest, Version, default));

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Contains(Convert.ToHexStringLower(SHA256.HashData(corrupt)), error.Message);
    }

    [Fact]
    public async Task Get_FromALocalStoreWithAMissingFile_ThrowsNotFoundSayingToRunSetup()
    {
        File.Delete(_temp.Combine("store", "m", "1", "model.onnx"));
        var cache = new VerifiedModelCache(new LocalObjectStore(_temp.Combine("store")), CacheDir);

        var error = await Assert.ThrowsAsync<InferenceException>(() => cache.GetAsync(_manifest, Version, default));

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Contains("build.sh setup", error.Message);
    }

    /// <summary>A file stream whose writes fail the way a full disk makes them fail (ENOSPC).</summary>
    private sealed class DiskFullStream(string path) : FileStream(path, FileMode.CreateNew)
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new IOException("No space left on device", 28);
    }
}
