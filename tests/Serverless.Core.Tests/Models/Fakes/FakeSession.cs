using Serverless.Core.Inference;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Models.Fakes;

/// <summary>A session that records disposal and refuses to run once disposed, like the real one.</summary>
internal sealed class FakeSession(string modelName, string path, IReadOnlyList<TensorSpec>? inputs = null, IReadOnlyList<TensorSpec>? outputs = null) : IInferenceSession
{
    private int _disposed;

    public string ModelName { get; } = modelName;

    public string Path { get; } = path;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public int RunCount;

    public IReadOnlyList<TensorSpec> Inputs { get; } = inputs ?? [new TensorSpec("x", TensorElementType.Float, [-1, 3])];

    public IReadOnlyList<TensorSpec> Outputs { get; } = outputs ?? [new TensorSpec("y", TensorElementType.Float, [-1, 2])];

    public string ExecutionProvider => "FakeExecutionProvider";

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        Interlocked.Increment(ref RunCount);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            throw new InvalidOperationException($"Session for {ModelName} disposed twice.");
        }
    }
}

/// <summary>Counts session creations; can be told to fail or to block until released.</summary>
internal sealed class FakeSessionFactory : IInferenceSessionFactory
{
    private int _created;

    public int Created => Volatile.Read(ref _created);

    public List<FakeSession> Sessions { get; } = [];

    public Func<string, Exception?> FailWith { get; set; } = _ => null;

    /// <summary>The tensors a model's fake session reports, by model name: those its manifest declares, so it passes the contract check.</summary>
    public IReadOnlyList<Serverless.Core.Models.ModelManifest> Manifests { get; set; } = [];

    public IInferenceSession Create(string modelName, string modelPath, SessionSettings settings)
    {
        Interlocked.Increment(ref _created);
        if (FailWith(modelName) is { } error)
        {
            throw error;
        }

        var manifest = Manifests.FirstOrDefault(m => m.Name == modelName);
        var session = manifest is null
            ? new FakeSession(modelName, modelPath)
            : new FakeSession(modelName, modelPath, [.. manifest.Inputs.Select(Spec)], [.. manifest.Outputs.Select(Spec)]);
        lock (Sessions)
        {
            Sessions.Add(session);
        }

        return session;
    }

    public IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings) =>
        Create(modelName, "(memory)", settings);

    private static TensorSpec Spec(Serverless.Core.Models.TensorManifest tensor) =>
        new(tensor.Name, TensorElementTypes.TryParseProtocolName(tensor.Datatype, out var type) ? type : TensorElementType.Float, tensor.Shape);
}
