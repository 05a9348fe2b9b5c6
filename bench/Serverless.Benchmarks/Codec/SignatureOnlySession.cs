using Serverless.Core.Inference;
using Serverless.Core.Tensors;

namespace Serverless.Benchmarks.Codec;

/// <summary>
/// A session that only declares text-direction's signature, so the codec can be measured without a
/// native runtime: the benchmarks never call <see cref="Run"/>.
/// </summary>
internal sealed class SignatureOnlySession : IInferenceSession
{
    public IReadOnlyList<TensorSpec> Inputs { get; } = [new TensorSpec("x", TensorElementType.Float, [-1, 3, -1, -1])];

    public IReadOnlyList<TensorSpec> Outputs { get; } = [new TensorSpec("softmax_0.tmp_0", TensorElementType.Float, [-1, 2])];

    public string ExecutionProvider => "none";

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The codec benchmarks never run the model.");

    public void Dispose()
    {
    }
}
