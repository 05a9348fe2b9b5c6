using System.Diagnostics;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;

namespace Serverless.Bench.Driver;

/// <summary>
/// The same input run in this process at two depths, with the server's default session settings:
/// the bare ONNX Runtime <c>Run</c> over reused, preallocated values (no codec, no HTTP), and the
/// protocol's <see cref="InferRunner"/> (JSON or binary parse, Run, response write) into a reused buffer.
/// Subtracting them from the end-to-end time splits a request into model, codec and HTTP.
/// </summary>
internal sealed class RawRunner : IDisposable
{
    private readonly OnnxSession _session;
    private readonly OrtValue[] _inputs;
    private readonly OrtValue[] _outputs;
    private readonly Payloads _payload;
    private readonly InferRunner _runner = new();
    private readonly PooledBufferWriter _writer = new(1 << 20);

    public RawRunner(string modelPath, Payloads payload, long[] outputShape)
    {
        _payload = payload;
        _session = OnnxSessionFactory.Instance.Create(payload.Model, modelPath, SessionSettings.Default);
        var outputCount = 1L;
        foreach (var d in outputShape)
        {
            outputCount *= d;
        }

        _inputs = [OrtValue.CreateTensor<float>(payload.Values.AsMemory(), payload.Shape, payload.Input)];
        _outputs = [OrtValue.CreateTensor<float>(new float[outputCount].AsMemory(), outputShape, _session.Outputs[0].Name)];
        Run();
        Codec(binary: false);
        Codec(binary: true);
    }

    public int IntraOpThreads => SessionSettings.Default.EffectiveIntraOpThreads;

    /// <summary>One bare Run; returns milliseconds.</summary>
    public double Run()
    {
        var started = Stopwatch.GetTimestamp();
        _session.Run(_inputs, _outputs);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>One in-process protocol infer (parse, Run, write); returns milliseconds.</summary>
    public double Codec(bool binary)
    {
        _writer.Clear();
        var started = Stopwatch.GetTimestamp();
        if (binary)
        {
            _runner.Infer(_session, _payload.Model, _payload.Version, _payload.Binary, _payload.BinaryHeaderLength, _writer);
        }
        else
        {
            _runner.Infer(_session, _payload.Model, _payload.Version, _payload.Json, _writer);
        }

        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    public void Dispose()
    {
        foreach (var value in _inputs)
        {
            value.Dispose();
        }

        foreach (var value in _outputs)
        {
            value.Dispose();
        }

        _writer.Dispose();
        _session.Dispose();
    }
}
