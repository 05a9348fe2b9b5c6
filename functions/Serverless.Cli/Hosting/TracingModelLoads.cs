using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Onnx;
using Serverless.Core.Storage;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The model-load phases of the <see cref="StartupTrace"/>: wraps the artifact source and the session factory
/// so a load prints when the verified file is ready, when ONNX Runtime's library is loaded (the first time)
/// and when the session exists. Only composed when the trace is on; otherwise the real objects are used as is.
/// </summary>
internal sealed class TracingModelLoads : IInferenceSessionFactory, IModelArtifactSource
{
    private readonly IInferenceSessionFactory _factory;
    private readonly IModelArtifactSource? _artifacts;

    public TracingModelLoads(IInferenceSessionFactory factory, IModelArtifactSource? artifacts = null)
    {
        _factory = factory;
        _artifacts = artifacts;
    }

    public async Task<VerifiedArtifact> GetAsync(ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        StartupTrace.Mark($"model '{manifest.Name}': load started (artifact)");
        var artifact = await _artifacts!.GetAsync(manifest, version, cancellationToken).ConfigureAwait(false);
        StartupTrace.Mark($"model '{manifest.Name}': artifact verified ({(artifact.Downloaded ? "downloaded" : "cached")}, {artifact.Milliseconds:F1} ms)");
        return artifact;
    }

    public bool Evict(ModelManifest manifest, ModelVersionManifest version) => _artifacts!.Evict(manifest, version);

    public IInferenceSession Create(string modelName, string modelPath, SessionSettings settings)
    {
        BeforeCreate(modelName);
        var session = _factory.Create(modelName, modelPath, settings);
        StartupTrace.Mark($"model '{modelName}': session created");
        return session;
    }

    public IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings)
    {
        BeforeCreate(modelName);
        var session = _factory.Create(modelName, modelBytes, settings);
        StartupTrace.Mark($"model '{modelName}': session created");
        return session;
    }

    /// <summary>The artifact-source half, over <paramref name="inner"/>, sharing this factory.</summary>
    public TracingModelLoads Over(IModelArtifactSource inner) => new(_factory, inner);

    private void BeforeCreate(string modelName)
    {
        if (_factory is OnnxSessionFactory)
        {
            OrtRuntime.EnsureLoaded();
            StartupTrace.MarkOnce(StartupTrace.Once.RuntimeLoaded, $"ONNX Runtime {OrtRuntime.Version} ready ({OrtRuntime.LibraryPath})");
        }

        StartupTrace.Mark($"model '{modelName}': creating session");
    }
}
