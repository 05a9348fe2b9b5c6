using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Onnx;
using Serverless.Core.Storage;
using Serverless.Core.Tensors;
using Serverless.Core.Tests.TestModels;

namespace Serverless.Core.Tests.Models;

/// <summary>
/// The optimized-graph cache over the real ONNX Runtime: the first session saves ORT's optimized graph with
/// its checksum, the second is created from those bytes with optimization off, a damaged or foreign file is
/// deleted and rebuilt, an unwritable folder only costs the saving, and the key separates what must differ.
/// </summary>
public sealed class OptimizedGraphCacheTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "graph-cache-tests-" + Guid.NewGuid().ToString("N"));
    private readonly RecordingFactory _factory = new();

    public OptimizedGraphCacheTests()
    {
        Directory.CreateDirectory(_root);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            foreach (var file in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
            {
                File.SetAttributes(file, FileAttributes.Normal);
            }

            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void FirstLoad_SavesTheGraphAndItsChecksum_SecondLoadUsesItWithOptimizationOff()
    {
        var artifact = Artifact(TinyModels.MatMulChain(8, 3));
        var cache = new OptimizedGraphCache(Path.Combine(_root, "optimized"));
        var path = cache.PathFor("chain", artifact, SessionSettings.Default);

        using (var first = cache.Create(_factory, "chain", artifact, SessionSettings.Default))
        {
            Assert.Equal(["file:All:saving"], _factory.Calls);
        }

        Assert.True(File.Exists(path), "no optimized graph saved");
        var checksum = File.ReadAllText(path + ".sha256");
        Assert.Equal($"sha256={Sha(File.ReadAllBytes(path))} source={artifact.Sha256}", checksum);
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(path)!, "*.tmp*"));

        using (var second = cache.Create(_factory, "chain", artifact, SessionSettings.Default))
        {
            Assert.Equal(["file:All:saving", "bytes:None"], _factory.Calls);
            Assert.Equal("x", Assert.Single(second.Inputs).Name);
        }
    }

    [Fact]
    public void CachedGraph_GivesTheSameOutputsBitForBit()
    {
        var artifact = Artifact(TinyModels.MatMulChain(16, 4));
        var cache = new OptimizedGraphCache(Path.Combine(_root, "optimized"));
        using var plain = OnnxSessionFactory.Instance.Create("chain", artifact.Path, SessionSettings.Default);
        using (cache.Create(OnnxSessionFactory.Instance, "chain", artifact, SessionSettings.Default))
        {
        }

        using var cached = cache.Create(_factory, "chain", artifact, SessionSettings.Default);
        Assert.Equal("bytes:None", _factory.Calls[^1]);
        Assert.Equal(RunChain(plain), RunChain(cached));
    }

    [Theory]
    [InlineData("graph")]
    [InlineData("checksum")]
    public void DamagedGraphOrChecksum_IsDeletedAndRebuilt(string damage)
    {
        var artifact = Artifact(TinyModels.MatMulChain(8, 3));
        var cache = new OptimizedGraphCache(Path.Combine(_root, "optimized"));
        var path = cache.PathFor("chain", artifact, SessionSettings.Default);
        cache.Create(_factory, "chain", artifact, SessionSettings.Default).Dispose();
        if (damage == "graph")
        {
            var bytes = File.ReadAllBytes(path);
            bytes[bytes.Length / 2] ^= 0x5A;
            File.WriteAllBytes(path, bytes);
        }
        else
        {
            File.WriteAllText(path + ".sha256", new string('0', 64));
        }

        using (cache.Create(_factory, "chain", artifact, SessionSettings.Default))
        {
        }

        // Not loaded from the damaged bytes: optimized again from the artifact, and saved afresh.
        Assert.Equal(["file:All:saving", "file:All:saving"], _factory.Calls);
        Assert.Equal($"sha256={Sha(File.ReadAllBytes(path))} source={artifact.Sha256}", File.ReadAllText(path + ".sha256"));
    }

    [Fact]
    public void SoundChecksumOverBytesOrtRefuses_IsDeletedAndRebuilt()
    {
        var artifact = Artifact(TinyModels.MatMulChain(8, 3));
        var cache = new OptimizedGraphCache(Path.Combine(_root, "optimized"));
        var path = cache.PathFor("chain", artifact, SessionSettings.Default);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var foreign = TinyModels.Broken();
        File.WriteAllBytes(path, foreign);
        File.WriteAllText(path + ".sha256", $"sha256={Sha(foreign)} source={artifact.Sha256}");

        using (cache.Create(_factory, "chain", artifact, SessionSettings.Default))
        {
        }

        Assert.Equal(["bytes:None", "file:All:saving"], _factory.Calls);
        Assert.NotEqual(foreign, File.ReadAllBytes(path));
    }

    [Fact]
    public void UnwritableFolder_StillGivesASession_WithoutSaving()
    {
        var artifact = Artifact(TinyModels.MatMulChain(8, 3));
        var blocker = Path.Combine(_root, "not-a-folder");
        File.WriteAllText(blocker, "a file where the cache folder should be");
        var cache = new OptimizedGraphCache(Path.Combine(blocker, "optimized"));

        using var session = cache.Create(_factory, "chain", artifact, SessionSettings.Default);

        Assert.Equal("x", Assert.Single(session.Inputs).Name);
        Assert.Equal("file:All", _factory.Calls[^1]);
    }

    [Fact]
    public void BrokenModel_FailsWithItsOwnError_AndLeavesNothingBehind()
    {
        var artifact = Artifact(TinyModels.Broken());
        var folder = Path.Combine(_root, "optimized");
        var cache = new OptimizedGraphCache(folder);

        var error = Assert.Throws<InferenceException>(() => cache.Create(OnnxSessionFactory.Instance, "broken", artifact, SessionSettings.Default));

        Assert.Contains("broken", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.Exists(folder) ? Directory.EnumerateFiles(folder) : []);
    }

    [Fact]
    public void Key_DiffersByModelBytesAndOptimizationLevel_AndIsStable()
    {
        var cache = new OptimizedGraphCache(_root);
        var a = new VerifiedArtifact("/x/a.onnx", 10, new string('a', 64), false, 0);
        var b = a with { Sha256 = new string('b', 64) };

        Assert.Equal(cache.PathFor("m", a, SessionSettings.Default), cache.PathFor("m", a with { Path = "/elsewhere.onnx" }, SessionSettings.Default));
        Assert.NotEqual(cache.PathFor("m", a, SessionSettings.Default), cache.PathFor("m", b, SessionSettings.Default));
        Assert.NotEqual(cache.PathFor("m", a, SessionSettings.Default), cache.PathFor("m", a, new SessionSettings { Optimization = GraphOptimization.Extended }));
        Assert.StartsWith(Path.Combine(_root, "m-"), cache.PathFor("m", a, SessionSettings.Default), StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(_root, "model-"), cache.PathFor("../../etc", a, SessionSettings.Default), StringComparison.Ordinal);
    }

    [Fact]
    public void CpuFingerprint_NamesTheArchitectureAndInstructionSets()
    {
        var fingerprint = OptimizedGraphCache.CpuFingerprint();

        Assert.StartsWith(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(), fingerprint, StringComparison.Ordinal);
        Assert.Contains("avx2=", fingerprint, StringComparison.Ordinal);
        Assert.Equal(fingerprint, OptimizedGraphCache.CpuFingerprint());
    }

    [Theory]
    [InlineData(GraphOptimization.None, false, false, false)]
    [InlineData(GraphOptimization.All, true, false, false)]
    [InlineData(GraphOptimization.All, false, true, false)]
    [InlineData(GraphOptimization.All, false, false, true)]
    [InlineData(GraphOptimization.Extended, false, false, true)]
    public void Applies_OnlyToOptimizedCpuSessionsNobodyElseSaves(GraphOptimization level, bool cuda, bool ownPath, bool expected)
    {
        var settings = new SessionSettings { Optimization = level, PreferCuda = cuda, OptimizedModelPath = ownPath ? "/tmp/mine.onnx" : null };

        Assert.Equal(expected, OptimizedGraphCache.Applies(settings));
    }

    [Fact]
    public void NotApplicable_GoesStraightToTheFactory_AndSavesNothing()
    {
        var artifact = Artifact(TinyModels.MatMulChain(8, 3));
        var folder = Path.Combine(_root, "optimized");
        var cache = new OptimizedGraphCache(folder);

        using (cache.Create(_factory, "chain", artifact, new SessionSettings { Optimization = GraphOptimization.None }))
        {
        }

        Assert.Equal(["file:None"], _factory.Calls);
        Assert.False(Directory.Exists(folder));
    }

    private static float[] RunChain(IInferenceSession session)
    {
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.Float, [16, 16]);
        var span = x.GetSpan<float>();
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (float)Math.Sin(i);
        }

        var results = new IOutputTensor?[1];
        session.Run([x], [0], results);
        using var y = results[0]!;
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(y.Bytes).ToArray();
    }

    [Fact]
    public void GraphBuiltFromOtherBytes_IsNeverUsedForTheseBytes()
    {
        // A graph made from damaged bytes (as a load of a corrupt file would have made it) is keyed by those
        // bytes' hash, so the verified good bytes get a graph of their own, with the good model's results.
        var good = TinyModels.MatMulChain(16, 4);
        var damaged = TinyModels.MatMulChain(16, 5);
        var cache = new OptimizedGraphCache(Path.Combine(_root, "optimized"));
        var fromDamaged = Artifact(damaged);
        var fromGood = Artifact(good);
        cache.Create(_factory, "chain", fromDamaged, SessionSettings.Default).Dispose();

        using var session = cache.Create(_factory, "chain", fromGood, SessionSettings.Default);
        using var reference = OnnxSessionFactory.Instance.Create("chain", fromGood.Path, SessionSettings.Default);

        Assert.NotEqual(cache.PathFor("chain", fromDamaged, SessionSettings.Default), cache.PathFor("chain", fromGood, SessionSettings.Default));
        Assert.Equal(["file:All:saving", "file:All:saving"], _factory.Calls);
        Assert.Equal(RunChain(reference), RunChain(session));
    }

    [Fact]
    public void ForeignGraphWithItsOwnChecksumFile_IsRefusedForNamingAnotherSource()
    {
        var events = new Serverless.Core.Observability.IntegrityEvents();
        var cache = new OptimizedGraphCache(Path.Combine(_root, "optimized"), events);
        var other = Artifact(TinyModels.MatMulChain(8, 2));
        var mine = Artifact(TinyModels.MatMulChain(8, 3));
        cache.Create(_factory, "chain", other, SessionSettings.Default).Dispose();
        var otherPath = cache.PathFor("chain", other, SessionSettings.Default);
        var minePath = cache.PathFor("chain", mine, SessionSettings.Default);
        File.Copy(otherPath, minePath);
        File.Copy(otherPath + ".sha256", minePath + ".sha256");

        using (cache.Create(_factory, "chain", mine, SessionSettings.Default))
        {
        }

        Assert.Equal(["file:All:saving", "file:All:saving"], _factory.Calls);
        Assert.Equal(1, events.Snapshot().Failures);
        Assert.EndsWith("source=" + mine.Sha256, File.ReadAllText(minePath + ".sha256"), StringComparison.Ordinal);
    }

    [Fact]
    public void ForeignGraphWithAMatchingChecksumFile_IsRefusedByTheContractCheck()
    {
        // The worst case: a valid graph of another model, under this model's key, with a checksum file that
        // names its bytes and this model's source. Only the session's tensors can tell, and they must.
        var events = new Serverless.Core.Observability.IntegrityEvents();
        var cache = new OptimizedGraphCache(Path.Combine(_root, "optimized"), events);
        var foreign = TinyModels.Identity(TensorElementType.Float, 1, 2);
        var mine = Artifact(TinyModels.MatMulChain(8, 3));
        var path = cache.PathFor("chain", mine, SessionSettings.Default);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, foreign);
        File.WriteAllText(path + ".sha256", $"sha256={Sha(foreign)} source={mine.Sha256}");
        var manifest = new ModelManifest
        {
            Name = "chain",
            DefaultVersion = "1",
            Versions = [new ModelVersionManifest { Version = "1", Artifact = "chain/1/model.onnx", Sha256 = mine.Sha256, Size = mine.Size }],
            Inputs = [new TensorManifest { Name = "x", Datatype = "FP32", Shape = [8, 8] }],
            Outputs = [new TensorManifest { Name = "y", Datatype = "FP32", Shape = [8, 8] }],
        };

        using var session = cache.Create(_factory, "chain", mine, SessionSettings.Default, s => ModelContract.Check(manifest, s));

        Assert.Equal(["bytes:None", "file:All:saving"], _factory.Calls);
        Assert.Null(ModelContract.Check(manifest, session));
        Assert.Equal(1, events.Snapshot().Failures);
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    private VerifiedArtifact Artifact(byte[] model)
    {
        var path = Path.Combine(_root, Guid.NewGuid().ToString("N") + ".onnx");
        File.WriteAllBytes(path, model);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(model));
        return new VerifiedArtifact(path, model.Length, sha, false, 0);
    }

    /// <summary>The real factory, recording how each session was made: from a file or bytes, at which level, saving or not.</summary>
    private sealed class RecordingFactory : IInferenceSessionFactory
    {
        public List<string> Calls { get; } = [];

        public IInferenceSession Create(string modelName, string modelPath, SessionSettings settings)
        {
            Calls.Add($"file:{settings.Optimization}{(settings.OptimizedModelPath is null ? "" : ":saving")}");
            return OnnxSessionFactory.Instance.Create(modelName, modelPath, settings);
        }

        public IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings)
        {
            Calls.Add($"bytes:{settings.Optimization}");
            return OnnxSessionFactory.Instance.Create(modelName, modelBytes, settings);
        }
    }
}
