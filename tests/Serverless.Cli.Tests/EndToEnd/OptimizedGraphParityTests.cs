using System.Text;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.EndToEnd;

/// <summary>
/// Every real model and version, answered three ways through the protocol handler: without the optimized-graph
/// cache, by the load that builds the cache, and by a later registry (a restart) that loads the cached graph
/// with optimization off. The three response bodies must be byte-identical: the cache saves time, never bits.
/// </summary>
public sealed class OptimizedGraphParityTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "graph-parity-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Theory]
    [InlineData("text-direction", "1")]
    [InlineData("text-detection", "1")]
    [InlineData("text-detection", "2")]
    [InlineData("text-recognition", "1")]
    [InlineData("text-recognition", "2")]
    [InlineData("voice-activity", "1")]
    [InlineData("voice-activity", "2")]
    public async Task CachedGraph_AnswersByteForByteLikeTheOriginal(string model, string version)
    {
        var request = Encoding.UTF8.GetBytes(InferRequests.For(model));
        var path = $"/v2/models/{model}/versions/{version}/infer";
        var graphs = new OptimizedGraphCache(Path.Combine(_root, "optimized"));
        var sessions = new CountingFactory();

        var plain = await AnswerAsync(null, sessions, path, request);
        var building = await AnswerAsync(graphs, sessions, path, request);
        var cachedFiles = Directory.GetFiles(graphs.Directory, $"{model}-*.onnx");
        var fromCache = await AnswerAsync(graphs, sessions, path, request);

        Assert.StartsWith("{\"model_name\":", plain, StringComparison.Ordinal);
        Assert.Equal(plain, building);
        Assert.Equal(plain, fromCache);
        Assert.Single(cachedFiles);
        Assert.True(File.Exists(cachedFiles[0] + ".sha256"));

        // Two loads from the file (plain, building) and the restart from the cached bytes.
        Assert.Equal(["file", "file", "bytes"], sessions.Calls);
    }

    private async Task<string> AnswerAsync(OptimizedGraphCache? graphs, CountingFactory sessions, string path, byte[] request)
    {
        var manifests = ModelCatalog.LoadFromFolder(RepoPaths.Models);
        var cache = new VerifiedModelCache(new LocalObjectStore(RepoPaths.ModelStore), Path.Combine(_root, "models"));
        using var registry = new ModelRegistry(manifests, cache, sessions, new ModelRegistryOptions
        {
            SessionSettings = new SessionSettings { IntraOpThreads = 1 },
            OptimizedGraphs = graphs,
        });
        var handler = new ProtocolHandler(registry);
        using var response = new BufferedProtocolResponse();
        await handler.HandleAsync(ProtocolRequest.FromBytes("POST", path, request, ProtocolContentTypes.Json), response);
        var body = Encoding.UTF8.GetString(response.BodyMemory.Span);
        Assert.True(response.StatusCode == 200, body);
        return body;
    }

    private sealed class CountingFactory : IInferenceSessionFactory
    {
        public List<string> Calls { get; } = [];

        public IInferenceSession Create(string modelName, string modelPath, SessionSettings settings)
        {
            Calls.Add("file");
            return OnnxSessionFactory.Instance.Create(modelName, modelPath, settings);
        }

        public IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings)
        {
            Calls.Add("bytes");
            return OnnxSessionFactory.Instance.Create(modelName, modelBytes, settings);
        }
    }
}
