using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Tensors;

namespace Serverless.Gpu.Tests.Fixtures;

/// <summary>A real session behind a narrow test seam: runs wait for <see cref="Gate"/> and are counted.</summary>
internal sealed class GatedSession(IInferenceSession inner) : IInferenceSession
{
    public static ManualResetEventSlim Gate { get; } = new(true);

    public static SemaphoreSlim Started { get; } = new(0);

    public IReadOnlyList<TensorSpec> Inputs => inner.Inputs;

    public IReadOnlyList<TensorSpec> Outputs => inner.Outputs;

    public string ExecutionProvider => inner.ExecutionProvider;

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        Started.Release();
        Gate.Wait(TimeSpan.FromSeconds(30), CancellationToken.None);
        inner.Run(inputs, outputIndices, results, cancellationToken);
    }

    public void Dispose() => inner.Dispose();
}

/// <summary>A real session whose joined runs (more than one row) fail, as a device out of memory would.</summary>
internal sealed class FailsWhenJoinedSession(IInferenceSession inner) : IInferenceSession
{
    public IReadOnlyList<TensorSpec> Inputs => inner.Inputs;

    public IReadOnlyList<TensorSpec> Outputs => inner.Outputs;

    public string ExecutionProvider => inner.ExecutionProvider;

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        if (inputs[0].Shape[0] > 1)
        {
            throw new InferenceException(ErrorCode.RuntimeFailure, $"Model 'text-direction': out of device memory for {inputs[0].Shape[0]} rows (test failure).");
        }

        inner.Run(inputs, outputIndices, results, cancellationToken);
    }

    public void Dispose() => inner.Dispose();
}
