using System.Text;
using Serverless.Core.Inference;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;
using Xunit.Abstractions;

namespace Serverless.Core.Tests.Protocol;

/// <summary>The codec's steady state: parsing into reused HostTensors and writing a response allocate (about) nothing.</summary>
public class InferRunnerAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public void Infer_SteadyStateTextDirectionSizedJsonRequest_AllocatesAlmostNothing()
    {
        var request = Encoding.UTF8.GetBytes(TextDirectionRequest(seed: 7));
        var session = new FixedOutputSession();
        var runner = new InferRunner(new ProtocolOptions(), new HostTensorPool());
        using var writer = new PooledBufferWriter(1 << 16);
        for (var i = 0; i < 5; i++)
        {
            writer.Clear();
            runner.Infer(session, "text-direction", "1", request, writer);
        }

        const int Requests = 20;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Requests; i++)
        {
            writer.Clear();
            runner.Infer(session, "text-direction", "1", request, writer);
        }

        var perRequest = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Requests;
        output.WriteLine($"{request.Length} byte request (1x3x48x192 FP32 JSON): {perRequest:F1} bytes allocated per request, {stopwatch.Elapsed.TotalMilliseconds / Requests:F2} ms per request");
        Assert.Equal(27648, session.LastInputElements);
        Assert.Contains("\"softmax_0.tmp_0\"", Encoding.UTF8.GetString(writer.WrittenSpan), StringComparison.Ordinal);
        Assert.True(perRequest < 64, $"allocated {perRequest} bytes per request");
    }

    [Fact]
    public void Infer_SteadyStateBinaryRequest_AllocatesAlmostNothing()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":110592}}],"parameters":{"binary_data_output":true}}""");
        var body = header.Concat(new byte[110592]).ToArray();
        var session = new FixedOutputSession();
        var runner = new InferRunner(new ProtocolOptions(), new HostTensorPool());
        using var writer = new PooledBufferWriter(1 << 16);
        for (var i = 0; i < 20; i++)
        {
            writer.Clear();
            runner.Infer(session, "text-direction", "1", body, header.Length, writer);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200; i++)
        {
            writer.Clear();
            runner.Infer(session, "text-direction", "1", body, header.Length, writer);
        }

        var perRequest = (GC.GetAllocatedBytesForCurrentThread() - before) / 200.0;
        output.WriteLine($"binary 1x3x48x192 FP32 request: {perRequest:F1} bytes allocated per request");
        Assert.True(perRequest < 64, $"allocated {perRequest} bytes per request");
    }

    internal static string TextDirectionRequest(int seed)
    {
        var random = new Random(seed);
        var builder = new StringBuilder("""{"id":"alloc","inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[""");
        for (var i = 0; i < 3 * 48 * 192; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append(((float)random.NextDouble() * 2 - 1).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }

        return builder.Append("]}]}").ToString();
    }

    /// <summary>A text-direction-shaped session that answers from one preallocated output and allocates nothing per run.</summary>
    private sealed class FixedOutputSession : IInferenceSession
    {
        private readonly BorrowedOutput _output;

        public FixedOutputSession()
        {
            var tensor = new HostTensor();
            tensor.Initialize("softmax_0.tmp_0", TensorElementType.Float, [1, 2]);
            tensor.GetSpan<float>()[0] = 0.25f;
            tensor.GetSpan<float>()[1] = 0.75f;
            _output = new BorrowedOutput(tensor);
        }

        public IReadOnlyList<TensorSpec> Inputs { get; } = [new TensorSpec("x", TensorElementType.Float, [-1, 3, -1, -1])];

        public IReadOnlyList<TensorSpec> Outputs { get; } = [new TensorSpec("softmax_0.tmp_0", TensorElementType.Float, [-1, 2])];

        public string ExecutionProvider => "Fixed";

        public long LastInputElements { get; private set; }

        public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
        {
            LastInputElements = inputs[0].ElementCount;
            results[0] = _output;
        }

        public void Dispose()
        {
        }
    }

    private sealed class BorrowedOutput(HostTensor tensor) : IOutputTensor
    {
        public string Name => tensor.Name;

        public TensorElementType ElementType => tensor.ElementType;

        public ReadOnlySpan<long> Shape => tensor.Shape;

        public long ElementCount => tensor.ElementCount;

        public ReadOnlySpan<byte> Bytes => tensor.Data;

        public ReadOnlySpan<byte> GetStringBytes(long index) => tensor.GetStringBytes(index);

        public void Dispose()
        {
        }
    }
}
