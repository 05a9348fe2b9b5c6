using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Inference.Batching;

/// <summary>
/// A thread-safe fake session: input "x" FP32 [-1,-1] (or the shape given), output "y" = 2x. A value of 13
/// fails the whole run, and an optional gate holds every run until the test opens it.
/// </summary>
internal sealed class DoublerSession : IInferenceSession
{
    private readonly Lock _lock = new();
    private readonly List<long[]> _runShapes = [];

    public DoublerSession(long[]? inputShape = null)
    {
        var shape = inputShape ?? [-1, -1];
        Inputs = [new TensorSpec("x", TensorElementType.Float, shape)];
        Outputs = [new TensorSpec("y", TensorElementType.Float, shape)];
    }

    public IReadOnlyList<TensorSpec> Inputs { get; }

    public IReadOnlyList<TensorSpec> Outputs { get; }

    public string ExecutionProvider => "FakeExecutionProvider";

    /// <summary>When set, every run waits for it (released by the test).</summary>
    public ManualResetEventSlim? Gate { get; set; }

    /// <summary>Signalled when a run has started (before the gate).</summary>
    public SemaphoreSlim RunStarted { get; } = new(0);

    public IReadOnlyList<long[]> RunShapes
    {
        get
        {
            lock (_lock)
            {
                return [.. _runShapes];
            }
        }
    }

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        var x = inputs[0];
        lock (_lock)
        {
            _runShapes.Add(x.Shape.ToArray());
        }

        RunStarted.Release();
        Gate?.Wait(TimeSpan.FromSeconds(10));
        var values = x.GetSpan<float>();
        if (values.Contains(13f))
        {
            throw new InferenceException(ErrorCode.InvalidInput, "Model 'doubler': 13 is unlucky (fake failure).") { Model = "doubler", Tensor = "x" };
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

    /// <summary>An input tensor "x" of the given shape filled with start, start+1, ...</summary>
    public static HostTensor Input(long rows, long columns, float start)
    {
        var x = new HostTensor();
        x.Initialize("x", TensorElementType.Float, [rows, columns]);
        var span = x.GetSpan<float>();
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = start + i;
        }

        return x;
    }
}
