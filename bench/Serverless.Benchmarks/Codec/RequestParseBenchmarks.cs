using BenchmarkDotNet.Attributes;
using Serverless.Core.Protocol;

namespace Serverless.Benchmarks.Codec;

/// <summary>
/// Request parse of text-direction's 1x3x48x192 FP32 request into a pooled HostTensor, as JSON and as
/// binary tensor data, and of text-detection's 1x3x640x640 request as JSON (the codec's worst case). Each operation returns the tensor to the pool, so MemoryDiagnoser's "Allocated"
/// is the steady-state allocation per request.
/// </summary>
[MemoryDiagnoser]
public class RequestParseBenchmarks : IDisposable
{
    private readonly SignatureOnlySession _session = new();
    private readonly HostTensorPool _pool = new();
    private readonly InferRequest _request = new();
    private ModelSignature _signature = null!;
    private TensorRequest _payload = null!;
    private TensorRequest _detection = null!;

    [GlobalSetup]
    public void Setup()
    {
        _signature = ModelSignature.For(_session);
        _payload = TensorRequest.TextDirection();
        _detection = TensorRequest.TextDetection();
    }

    [Benchmark(Description = "parse JSON request 1x3x48x192 (298 KB)")]
    public long ParseJson() => ParseJson(_payload.Json);

    [Benchmark(Description = "parse JSON request 1x3x640x640 (12.9 MB)")]
    public long ParseDetectionJson() => ParseJson(_detection.Json);

    [Benchmark(Description = "parse binary request 1x3x48x192 (108 KB)")]
    public long ParseBinary()
    {
        _request.Reset(_signature);
        InferRequestReader.Read(_payload.BinaryHeader, _payload.BinaryData, binaryExtension: true, _signature, _request,
            new InferContext("text-direction", 64L * 1024 * 1024, _pool, _payload.BinaryHeader.Length));
        var elements = _request.Inputs[0].ElementCount;
        _request.Release(_pool);
        return elements;
    }

    private long ParseJson(byte[] json)
    {
        _request.Reset(_signature);
        InferRequestReader.Read(json, ReadOnlySpan<byte>.Empty, binaryExtension: false, _signature, _request,
            new InferContext("text-direction", 64L * 1024 * 1024, _pool, json.Length));
        var elements = _request.Inputs[0].ElementCount;
        _request.Release(_pool);
        return elements;
    }

    public void Dispose()
    {
        _session.Dispose();
        GC.SuppressFinalize(this);
    }
}
