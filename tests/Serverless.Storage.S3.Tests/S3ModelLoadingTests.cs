using System.Diagnostics;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Onnx;
using Serverless.Core.Storage;
using Serverless.Core.Tensors;
using Serverless.Core.Tests.Storage;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Storage.S3.Tests;

/// <summary>ModelRegistry + VerifiedModelCache over a real s3rver and the real ONNX Runtime.</summary>
public sealed class S3ModelLoadingTests : IClassFixture<S3rverFixture>, IDisposable
{
    private static readonly IReadOnlyList<ModelManifest> Catalog = ModelCatalog.LoadFromFolder(RepoPaths.Models);
    private readonly S3rverFixture _fixture;
    private readonly ITestOutputHelper _output;
    private readonly string _cache = Directory.CreateTempSubdirectory("model-cache-").FullName;

    public S3ModelLoadingTests(S3rverFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
        Environment.SetEnvironmentVariable(Core.Onnx.OrtNativeLibrary.LibraryPathVariable,
            Environment.GetEnvironmentVariable(Core.Onnx.OrtNativeLibrary.LibraryPathVariable) ?? RepoPaths.OrtLibrary);
    }

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private static ModelManifest Manifest(string name) => Catalog.Single(m => m.Name == name);

    private async Task<S3ObjectStore> PublishedStoreAsync(string prefix, params string[] names)
    {
        var store = _fixture.Server.Store(prefix);
        await new ModelPublisher(new LocalObjectStore(RepoPaths.ModelStore), store).PublishAsync([.. names.Select(Manifest)]);
        return store;
    }

    private ModelRegistry Registry(IObjectStore store, ModelRegistryOptions? options = null, params string[] names) =>
        new(names.Select(Manifest), new VerifiedModelCache(store, _cache), OnnxSessionFactory.Instance, options);

    [Fact]
    public async Task Acquire_TextRecognitionFromS3_DownloadsVerifiesAndRunsOnTheRealRuntime()
    {
        using var store = await PublishedStoreAsync("rec", "text-recognition");
        using var registry = Registry(store, null, "text-recognition");

        using var lease = await registry.AcquireAsync("text-recognition", null, CancellationToken.None);

        Assert.Equal([1, 40, 6625], RunZeros(lease.Session, [1, 3, 48, 320]));
        Assert.True(lease.LoadMilliseconds > 0);
        var served = Manifest("text-recognition").FindVersion(null)!;
        Assert.True(File.Exists(Path.Combine(_cache, "text-recognition", served.Version, served.Sha256 + ".onnx")));
        Assert.Equal("READY", registry.GetStatus("text-recognition").StateText);
    }

    [Fact]
    public async Task Acquire_ACorruptObject_FailsWithIntegrityFailureNamingBothHashesAndCachesNothing()
    {
        using var store = _fixture.Server.Store("corrupt");
        var bytes = File.ReadAllBytes(RepoPaths.ModelFile("text-direction"));
        bytes[bytes.Length / 2] ^= 0x5A;
        await store.PutAsync("text-direction/1/model.onnx", new MemoryStream(bytes));
        using var registry = Registry(store, null, "text-direction");

        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("text-direction", null, default).AsTask());

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Contains("expected SHA-256 " + Manifest("text-direction").Versions[0].Sha256, error.Message);
        Assert.Contains("got SHA-256 " + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), error.Message);
        Assert.Empty(Directory.GetFiles(_cache, "*", SearchOption.AllDirectories));
        Assert.Equal(ModelState.Failed, registry.GetStatus("text-direction").State);
    }

    [Fact]
    public async Task Acquire_WhenTheDownloadIsCutMidStream_FailsAndCachesNothing()
    {
        var bytes = File.ReadAllBytes(RepoPaths.ModelFile("text-direction"));
        using var server = new TruncatingServer(bytes, bytes.Length / 3);
        using var store = S3ObjectStore.Create(new Uri("s3://models/cut"), new TestEnvironment(), new S3ObjectStoreOptions
        {
            ServiceUrl = server.Endpoint,
            Credentials = S3rverStores.Credentials,
            MaxErrorRetry = 0,
        });
        using var registry = Registry(store, null, "text-direction");

        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("text-direction", null, default).AsTask());

        _output.WriteLine(error.Message);
        Assert.Equal(ErrorCode.StorageUnavailable, error.Code);
        Assert.Contains($"of {bytes.Length} bytes", error.Message);
        Assert.Empty(Directory.GetFiles(_cache, "*", SearchOption.AllDirectories));
        Assert.True(server.Requests >= 1);
    }

    [Fact]
    public async Task Acquire_AMissingObject_FailsWithNotFoundNamingTheKey()
    {
        using var store = _fixture.Server.Store("nothing-here");
        using var registry = Registry(store, null, "text-direction");

        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("text-direction", null, default).AsTask());

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Contains("'text-direction/1/model.onnx'", error.Message);
    }

    [Fact]
    public async Task Acquire_WhenTheStoreIsDownAtFirst_FailsThenSucceedsOnceItIsBackAndTheBackoffPassed()
    {
        var port = LoopbackPort.Free();
        var clock = new ManualClock();
        using var store = S3ObjectStore.Create(new Uri("s3://models/late"), new TestEnvironment(), new S3ObjectStoreOptions
        {
            ServiceUrl = $"http://127.0.0.1:{port}",
            Credentials = S3rverStores.Credentials,
            MaxErrorRetry = 0,
        });
        using var registry = Registry(store, new ModelRegistryOptions { TimeProvider = clock }, "text-direction");

        var down = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("text-direction", null, default).AsTask());
        Assert.Equal(ErrorCode.StorageUnavailable, down.Code);
        Assert.Equal(ModelState.Failed, registry.GetStatus("text-direction").State);

        using var late = await S3rverServer.StartAsync(S3rverStores.Bucket, port);
        using (var seed = late.Store("late"))
        {
            await new ModelPublisher(new LocalObjectStore(RepoPaths.ModelStore), seed).PublishAsync([Manifest("text-direction")]);
        }

        var backoff = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("text-direction", null, default).AsTask());
        Assert.Equal(ErrorCode.NotReady, backoff.Code);
        clock.Advance(TimeSpan.FromSeconds(backoff.RetryAfterSeconds!.Value));

        using var lease = await registry.AcquireAsync("text-direction", null, default);
        Assert.Equal([1, 2], RunZeros(lease.Session, [1, 3, 48, 192]));
        Assert.Equal(2, registry.LoadCount("text-direction"));
    }

    [Fact]
    public async Task Acquire_With50ConcurrentColdRequests_GetsTheObjectOnceAndCreatesOneSession()
    {
        using var s3 = await PublishedStoreAsync("fifty", "text-direction");
        var counting = new CountingObjectStore(s3);
        using var registry = Registry(counting, null, "text-direction");

        var leases = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => registry.AcquireAsync("text-direction", null, default).AsTask())));

        Assert.Equal(1, counting.Reads);
        Assert.Equal(1, registry.LoadCount("text-direction"));
        Assert.Single(leases.Select(l => l.Session).Distinct());
        foreach (var lease in leases)
        {
            lease.Dispose();
        }
    }

    [Fact]
    public async Task Acquire_WithABudgetForOneModelWhileRequestsRun_EvictsWithoutEverUsingADisposedSession()
    {
        using var store = await PublishedStoreAsync("evict", "text-direction", "voice-activity");
        // Room for one model at a time: the registry estimates 2x the served (default) artifact.
        var budget = 2 * Math.Max(Manifest("voice-activity").FindVersion(null)!.Size, Manifest("text-direction").FindVersion(null)!.Size);
        using var registry = Registry(store, new ModelRegistryOptions { MemoryBudgetBytes = budget }, "text-direction", "voice-activity");

        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 12; i++)
            {
                var name = (worker + i) % 2 == 0 ? "text-direction" : "voice-activity";
                try
                {
                    using var lease = await registry.AcquireAsync(name, null, default);
                    if (name == "text-direction")
                    {
                        Assert.Equal([1, 2], RunZeros(lease.Session, [1, 3, 48, 192]));
                    }
                    else
                    {
                        Assert.Equal([1, 1], RunVoice(lease.Session));
                    }
                }
                catch (InferenceException e) when (e.Code == ErrorCode.Overloaded)
                {
                    // Allowed under churn; a disposed-session error is not.
                }
            }
        }));

        await Task.WhenAll(workers);

        Assert.True(registry.LoadCount("text-direction") + registry.LoadCount("voice-activity") > 2);
        Assert.True(registry.ResidentBytes <= budget);
    }

    [Fact]
    public async Task ColdFirstRequest_FromS3VersusLocalStore_IsMeasured()
    {
        using var s3 = await PublishedStoreAsync("measure", "text-recognition");
        var local = new LocalObjectStore(RepoPaths.ModelStore);
        var results = new List<string>();
        foreach (var (label, store) in new (string, IObjectStore)[] { ("s3rver", s3), ("local", local), ("s3rver", s3), ("local", local) })
        {
            foreach (var file in Directory.GetFiles(_cache, "*", SearchOption.AllDirectories))
            {
                File.Delete(file);
            }

            using var registry = Registry(store, null, "text-recognition");
            var watch = Stopwatch.StartNew();
            using (var lease = await registry.AcquireAsync("text-recognition", null, default))
            {
                var load = watch.Elapsed.TotalMilliseconds;
                RunZeros(lease.Session, [1, 3, 48, 320]);
                results.Add($"{label}: load {load:0} ms, load+first inference {watch.Elapsed.TotalMilliseconds:0} ms");
            }
        }

        foreach (var line in results)
        {
            _output.WriteLine(line);
            Console.WriteLine("[cold-start text-recognition] " + line);
        }

        Assert.Equal(4, results.Count);
    }

    /// <summary>Runs one zero-filled FP32 input named "x" and returns the first output's shape.</summary>
    private static long[] RunZeros(IInferenceSession session, long[] shape)
    {
        using var input = new HostTensor();
        input.Initialize("x", TensorElementType.Float, shape);
        input.Data.Clear();
        return Run(session, [input]);
    }

    private static long[] RunVoice(IInferenceSession session)
    {
        using var audio = new HostTensor();
        audio.Initialize("input", TensorElementType.Float, [1, 512]);
        audio.Data.Clear();
        using var state = new HostTensor();
        state.Initialize("state", TensorElementType.Float, [2, 1, 128]);
        state.Data.Clear();
        using var rate = new HostTensor();
        rate.Initialize("sr", TensorElementType.Int64, []);
        rate.GetSpan<long>()[0] = 16000;
        return Run(session, [audio, state, rate]);
    }

    private static long[] Run(IInferenceSession session, HostTensor[] inputs)
    {
        var results = new IOutputTensor?[1];
        session.Run(inputs, [0], results);
        using var output = results[0]!;
        return output.Shape.ToArray();
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UnixEpoch.AddYears(56);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
