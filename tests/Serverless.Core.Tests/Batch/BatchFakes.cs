using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Batch;

/// <summary>
/// A session with input "x" FP32 [-1,2] and output "y" = 2x of the same shape. A row containing 13 fails
/// the whole run (so joined runs with a poison line fail), and each run can advance a manual clock.
/// </summary>
internal sealed class DoublingSession : IInferenceSession
{
    public List<long> RowsPerRun { get; } = [];

    public Action? OnRun { get; set; }

    public IReadOnlyList<TensorSpec> Inputs { get; } = [new TensorSpec("x", TensorElementType.Float, [-1, 2])];

    public IReadOnlyList<TensorSpec> Outputs { get; } = [new TensorSpec("y", TensorElementType.Float, [-1, 2])];

    public string ExecutionProvider => "Fake";

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        OnRun?.Invoke();
        var x = inputs[0];
        RowsPerRun.Add(x.Shape[0]);
        var values = x.GetSpan<float>();
        if (values.Contains(13f))
        {
            throw new InferenceException(ErrorCode.RuntimeFailure, "Model 'doubler': 13 is unlucky (fake runtime failure).");
        }

        var y = new HostTensor();
        y.Initialize("y", TensorElementType.Float, x.Shape);
        var output = y.GetSpan<float>();
        for (var i = 0; i < values.Length; i++)
        {
            output[i] = values[i] * 2;
        }

        results[0] = y;
    }

    public void Dispose()
    {
    }
}

/// <summary>A repository serving one session under one manifest.</summary>
internal sealed class SingleModelRepository(string name, IInferenceSession session, int maxBatchSize) : IModelRepository
{
    private readonly ModelManifest _manifest = new()
    {
        Name = name,
        DefaultVersion = "1",
        Versions = [new ModelVersionManifest { Version = "1", Artifact = name + "/1/model.onnx", Sha256 = new string('0', 64), Size = 1 }],
        MaxBatchSize = maxBatchSize,
    };

    public IReadOnlyList<ModelManifest> Manifests => [_manifest];

    public ModelManifest? Find(string n) => n == name ? _manifest : null;

    public ModelStatus GetStatus(string n, string? version = null) => new(n, "1", ModelState.Ready);

    public Task<ModelStatus> CheckAsync(string n, string? version, CancellationToken cancellationToken) => Task.FromResult(GetStatus(n, version));

    public ValueTask<ModelLease> AcquireAsync(string n, string? version, CancellationToken cancellationToken) =>
        n == name
            ? ValueTask.FromResult(new ModelLease(_manifest, _manifest.Versions[0], session, null))
            : throw InferenceException.NotFound($"Model '{n}' is unknown.", n);

    public Task LoadAsync(string n, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task UnloadAsync(string n, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}
