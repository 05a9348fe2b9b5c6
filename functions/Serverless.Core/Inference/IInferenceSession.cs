using Serverless.Core.Tensors;

namespace Serverless.Core.Inference;

/// <summary>
/// A loaded model that can run inference. The ONNX Runtime binding implements it; unit tests of code
/// above it (repository, protocol, batching) may use a hand-written fake. <see cref="Run"/> is safe to
/// call from many threads at once.
/// </summary>
public interface IInferenceSession : IDisposable
{
    /// <summary>The model's inputs, in the model's order.</summary>
    IReadOnlyList<TensorSpec> Inputs { get; }

    /// <summary>The model's outputs, in the model's order.</summary>
    IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>The execution provider the session runs on, e.g. "CPUExecutionProvider".</summary>
    string ExecutionProvider { get; }

    /// <summary>
    /// Runs the model. <paramref name="inputs"/> holds one tensor per model input, matched by name, whose
    /// memory stays pinned for the call. <paramref name="outputIndices"/> selects outputs by their index in
    /// <see cref="Outputs"/>; <paramref name="results"/>[i] receives the tensor for outputIndices[i], which the
    /// caller must dispose. Cancellation terminates the native run.
    /// </summary>
    void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default);
}

/// <summary>Creates sessions from a model file; the seam between model loading and the native runtime.</summary>
public interface IInferenceSessionFactory
{
    /// <summary>Creates a session from a model file. Failures are <see cref="Errors.InferenceException"/>s naming <paramref name="modelName"/>.</summary>
    IInferenceSession Create(string modelName, string modelPath, SessionSettings settings);

    /// <summary>Creates a session from model bytes held in memory.</summary>
    IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings);
}
