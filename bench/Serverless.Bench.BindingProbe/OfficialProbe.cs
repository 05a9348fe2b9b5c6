using Microsoft.ML.OnnxRuntime;

namespace Serverless.Bench.BindingProbe;

/// <summary>Microsoft.ML.OnnxRuntime's managed API: an OrtValue over the request buffer in, ORT-allocated outputs back.</summary>
internal sealed class OfficialProbe : IBindingProbe
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _buffer = new float[3 * 48 * 192];
    private readonly string[] _inputNames = ["x"];
    private readonly string[] _outputNames;
    private readonly OrtValue[] _values = new OrtValue[1];

    public OfficialProbe(string modelPath)
    {
        // The same settings as ours: all graph optimizations, one intra-op and one inter-op thread, neither spinning.
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        _session = new InferenceSession(modelPath, options);
        _outputNames = [.. _session.OutputNames];
    }

    public float Request(float[] input)
    {
        input.CopyTo(_buffer, 0);
        using var value = OrtValue.CreateTensorValueFromMemory(_buffer, ProbeInput.Shape);
        _values[0] = value;
        using var results = _session.Run(_runOptions, _inputNames, _values, _outputNames);
        return results[0].GetTensorDataAsSpan<float>()[0];
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
