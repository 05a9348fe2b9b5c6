using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Core.Models;
using Serverless.Core.Observability;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Core.Tests.Protocol;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Storage;

/// <summary>
/// The faults a cache can hold, end to end over the real ONNX Runtime and text-direction: the protocol handler,
/// the registry, the verified cache over a "remote" store (a counting wrapper, so every download is seen) and
/// the optimized-graph cache. Each "process" is a fresh registry over the same cache folder. The client must get
/// the true answer or a 502, never a 200 with wrong numbers and never a 400; the cache must heal when the store
/// holds the right bytes, and the store must be read a bounded number of times when it does not.
/// </summary>
public sealed class ArtifactIntegrityTests : IDisposable
{
    private const string Model = "text-direction";
    private readonly TempFolder _temp = new();
    private readonly byte[] _bytes = File.ReadAllBytes(RepoPaths.ModelFile(Model));
    private readonly ModelManifest _manifest = ModelCatalog.LoadFromFolder(RepoPaths.Models).Single(m => m.Name == Model);
    private readonly CountingObjectStore _store;

    public ArtifactIntegrityTests()
    {
        _temp.Write($"store/{_manifest.Versions[0].Artifact}", _bytes);
        _store = new CountingObjectStore(new LocalObjectStore(_temp.Combine("store")));
    }

    private string CacheDir => _temp.Combine("cache");

    private string CachedFile => Path.Combine(CacheDir, Model, "1", _manifest.Versions[0].Sha256 + ".onnx");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task SameSizeCorruptionOfTheCachedModel_IsCaughtOnLoad_AndTheTrueAnswerComesFromAFreshDownload()
    {
        var expected = await FirstProcessAnswerAsync();
        Corrupt(CachedFile, at: _bytes.Length / 2, count: 64);

        using var process = new Process(this);
        var reply = await process.InferAsync();

        Assert.Equal(200, reply.Status);
        Assert.Equal(expected, Outputs(reply));
        Assert.Equal(_bytes, File.ReadAllBytes(CachedFile));
        Assert.Equal(2, _store.Reads);
        Assert.Equal(new IntegritySnapshot(Failures: 1, Redownloads: 1, OrphansRemoved: 0), process.Events.Snapshot());
    }

    [Fact]
    public async Task CachedModelWithACorruptHeader_IsDownloadedAgain_NotAnsweredWith400()
    {
        var expected = await FirstProcessAnswerAsync();
        Corrupt(CachedFile, at: 0, count: 16);

        using var process = new Process(this);
        var reply = await process.InferAsync();

        Assert.Equal(200, reply.Status);
        Assert.Equal(expected, Outputs(reply));
        Assert.Equal(2, _store.Reads);
    }

    [Fact]
    public async Task CorruptCacheAndAStoreServingBadBytes_Answers502WithAClearMessage_DownloadsOnce_AndStays502()
    {
        await FirstProcessAnswerAsync();
        Corrupt(CachedFile, at: _bytes.Length / 2, count: 64);
        _store.Transform = s => new FlipByteStream(s, 1000);

        using var process = new Process(this);
        var first = await process.InferAsync();
        var again = await process.InferAsync();

        Assert.Equal(502, first.Status);
        Assert.Contains("the store itself holds bad bytes", first.Text, StringComparison.Ordinal);
        Assert.Contains(Model, first.Text, StringComparison.Ordinal);
        Assert.Equal(502, again.Status);
        Assert.NotNull(again.Header("Retry-After"));
        Assert.Equal(2, _store.Reads);
        Assert.False(File.Exists(CachedFile));
    }

    [Fact]
    public async Task ArtifactThatVerifiesButDoesNotLoad_IsFetchedOnceMore_ThenAnswers502NamingTheModelAndWhatToDo()
    {
        // The store's bytes match the manifest (whoever published it hashed the broken file): verification
        // passes, ONNX Runtime refuses the bytes. That is the store's fault: 502, never the client's 400.
        var broken = _bytes.ToArray();
        Array.Fill(broken, (byte)0xEE, 0, 16);
        _temp.Write($"store/{_manifest.Versions[0].Artifact}", broken);
        var version = _manifest.Versions[0] with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(broken)) };
        using var process = new Process(this, _manifest with { Versions = [version] });

        var reply = await process.InferAsync();

        Assert.Equal(502, reply.Status);
        Assert.Contains("downloaded again", reply.Text, StringComparison.Ordinal);
        Assert.Contains("re-publish the model", reply.Text, StringComparison.Ordinal);
        Assert.Equal(2, _store.Reads);
        Assert.Equal(2, process.Events.Snapshot().Failures);
        Assert.Equal(1, process.Events.Snapshot().Redownloads);
    }

    [Fact]
    public async Task SessionThatContradictsTheManifest_Answers502_NotAWrongShapedResult()
    {
        // The manifest says the output is [N,6625] while the verified bytes give [N,2]: a foreign model under
        // this name. The session must not answer.
        var wrong = _manifest with { Outputs = [new TensorManifest { Name = "softmax_0.tmp_0", Datatype = "FP32", Shape = [-1, 6625] }] };
        using var process = new Process(this, wrong);

        var reply = await process.InferAsync();

        Assert.Equal(502, reply.Status);
        Assert.Contains("does not fit the manifest", reply.Text, StringComparison.Ordinal);
        Assert.Contains("[-1,6625]", reply.Text, StringComparison.Ordinal);
    }

    private async Task<float[]> FirstProcessAnswerAsync()
    {
        using var process = new Process(this);
        var reply = await process.InferAsync();
        Assert.Equal(200, reply.Status);
        Assert.True(File.Exists(CachedFile));
        return Outputs(reply);
    }

    private static void Corrupt(string path, int at, int count)
    {
        var bytes = File.ReadAllBytes(path);
        for (var i = at; i < at + count; i++)
        {
            bytes[i] ^= 0x5A;
        }

        File.WriteAllBytes(path, bytes);
    }

    private static float[] Outputs(ProtocolReply reply) =>
        [.. reply.Json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];

    /// <summary>One serving process over the shared store and cache folder: handler, registry, caches, events.</summary>
    private sealed class Process : IDisposable
    {
        private readonly ModelRegistry _registry;
        private readonly ProtocolHandler _handler;

        public Process(ArtifactIntegrityTests test, ModelManifest? manifest = null)
        {
            Events = new IntegrityEvents();
            var cache = new VerifiedModelCache(test._store, test.CacheDir, Events);
            _registry = new ModelRegistry([manifest ?? test._manifest], cache, OnnxSessionFactory.Instance, new ModelRegistryOptions
            {
                OptimizedGraphs = new OptimizedGraphCache(Path.Combine(test.CacheDir, "optimized"), Events),
                Integrity = Events,
                MaxRetryDelay = TimeSpan.FromSeconds(30),
            });
            _handler = new ProtocolHandler(_registry);
        }

        public IntegrityEvents Events { get; }

        public Task<ProtocolReply> InferAsync()
        {
            var data = string.Join(",", Enumerable.Range(0, 3 * 48 * 192).Select(i => ((i % 97) / 97.0).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)));
            return _handler.SendJsonAsync($"/v2/models/{Model}/infer", $"{{\"inputs\":[{{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,48,192],\"data\":[{data}]}}]}}");
        }

        public void Dispose()
        {
            _registry.Dispose();
            Events.Dispose();
        }
    }
}
