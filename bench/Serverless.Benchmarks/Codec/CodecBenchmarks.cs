using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Benchmarks.Codec;

/// <summary>
/// The protocol codec on text-direction's 1x3x48x192 FP32 request, the same bytes the end-to-end bench
/// sends: request parse into pooled HostTensors (JSON and binary tensor data) and response write (JSON
/// and binary) into a reused pooled buffer. Each operation leaves the pools as it found them, so
/// MemoryDiagnoser's "Allocated" is the steady-state allocation per request. The response benchmarks take
/// the real output ([1,2]) and, to show the per-element cost of writing numbers, a 1x3x48x192 tensor.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks : IDisposable
{
    private readonly SignatureOnlySession _session = new();
    private readonly HostTensorPool _pool = new();
    private readonly PooledBufferWriter _writer = new(1 << 20);
    private readonly HostTensor _output = new();
    private InferRequest _request = null!;
    private ModelSignature _signature = null!;
    private byte[] _json = [];
    private byte[] _binaryHeader = [];
    private byte[] _binaryData = [];

    /// <summary>Elements of the output written by the response benchmarks: 2 is text-direction's real output.</summary>
    [Params(2, 27648)]
    public int OutputElements { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _signature = ModelSignature.For(_session);
        _request = new InferRequest();
        var random = new Random(7);
        var values = new float[3 * 48 * 192];
        var json = new StringBuilder("""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[""");
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ((random.Next(256) / 255f) - 0.5f) / 0.5f;
            json.Append(i == 0 ? "" : ",").Append(values[i].ToString("R", CultureInfo.InvariantCulture));
        }

        _json = Encoding.UTF8.GetBytes(json.Append("]}]}").ToString());
        _binaryHeader = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":110592}}],"parameters":{"binary_data_output":true}}""");
        _binaryData = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, _binaryData, 0, _binaryData.Length);

        long[] shape = OutputElements == 2 ? [1, 2] : [1, 3, 48, 192];
        _output.Initialize("softmax_0.tmp_0", TensorElementType.Float, shape);
        values.AsSpan(0, OutputElements).CopyTo(_output.GetSpan<float>());
    }

    [Benchmark(Description = "parse JSON request 1x3x48x192")]
    public long ParseJson()
    {
        _request.Reset(_signature);
        InferRequestReader.Read(_json, ReadOnlySpan<byte>.Empty, binaryExtension: false, _signature, _request, Context(_json.Length));
        var elements = _request.Inputs[0].ElementCount;
        _request.Release(_pool);
        return elements;
    }

    [Benchmark(Description = "parse binary request 1x3x48x192")]
    public long ParseBinary()
    {
        _request.Reset(_signature);
        InferRequestReader.Read(_binaryHeader, _binaryData, binaryExtension: true, _signature, _request, Context(_binaryHeader.Length));
        var elements = _request.Inputs[0].ElementCount;
        _request.Release(_pool);
        return elements;
    }

    [Benchmark(Description = "write JSON response")]
    public long WriteJson() => WriteResponse(binary: false);

    [Benchmark(Description = "write binary response")]
    public long WriteBinary() => WriteResponse(binary: true);

    public void Dispose()
    {
        _writer.Dispose();
        _output.Dispose();
        _session.Dispose();
        GC.SuppressFinalize(this);
    }

    private long WriteResponse(bool binary)
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

    private InferContext Context(long headerLength) => new("text-direction", 64L * 1024 * 1024, _pool, headerLength);
}
