using BenchmarkDotNet.Attributes;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Benchmarks.Codec;

/// <summary>
/// Response write into a reused pooled buffer, as JSON and as binary tensor data: text-direction's real
/// output ([1,2]), a 1x3x48x192 FP32 tensor of pixel values to show the per-element cost of writing numbers,
/// and text-detection's real 1x1x640x640 output size filled with probabilities in [0, 1) (9-10 digits each).
/// </summary>
[MemoryDiagnoser]
public class ResponseWriteBenchmarks : IDisposable
{
    private readonly SignatureOnlySession _session = new();
    private readonly PooledBufferWriter _writer = new(1 << 20);
    private readonly HostTensor _output = new();
    private readonly InferRequest _request = new();
    private ModelSignature _signature = null!;

    /// <summary>Elements of the output written: 2 is text-direction's real output.</summary>
    [Params(2, 27648, 409600)]
    public int OutputElements { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _signature = ModelSignature.For(_session);
        long[] shape = OutputElements switch { 2 => [1, 2], 27648 => [1, 3, 48, 192], _ => [1, 1, 640, 640] };
        _output.Initialize("softmax_0.tmp_0", TensorElementType.Float, shape);
        if (OutputElements == 409600)
        {
            var random = new Random(13);
            var values = _output.GetSpan<float>();
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = random.NextSingle();
            }
        }
        else
        {
            TensorRequest.TextDirection().Values.AsSpan(0, OutputElements).CopyTo(_output.GetSpan<float>());
        }
    }

    [Benchmark(Description = "write JSON response")]
    public long WriteJson() => Write(binary: false);

    [Benchmark(Description = "write binary response")]
    public long WriteBinary() => Write(binary: true);

    public void Dispose()
    {
        _writer.Dispose();
        _output.Dispose();
        _session.Dispose();
        GC.SuppressFinalize(this);
    }

    private long Write(bool binary)
    {
        _request.Reset(_signature);
        _request.OutputCount = 1;
        _request.OutputIndices[0] = 0;
        _request.OutputBinary[0] = binary;
        _request.Results[0] = _output;
        _writer.Clear();
        var result = InferResponseWriter.Write(_writer, long.MaxValue, "text-direction", "1", _request);

        // The output is borrowed: clear the slot so nothing disposes it.
        _request.Results[0] = null;
        return result.TotalLength;
    }
}
