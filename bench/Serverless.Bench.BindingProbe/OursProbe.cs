using System.Runtime.InteropServices;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;

namespace Serverless.Bench.BindingProbe;

/// <summary>Serverless.Core's binding, the way the protocol handler calls it: a pooled HostTensor in, ORT-allocated outputs back.</summary>
internal sealed class OursProbe : IBindingProbe
{
    private readonly OnnxSession _session;
    private readonly HostTensor _tensor = new();
    private readonly IOutputTensor?[] _results = new IOutputTensor?[1];
    private readonly HostTensor[] _inputs;
    private readonly int[] _outputs = [0];

    public OursProbe(string modelPath)
    {
        _session = OnnxSessionFactory.Instance.Create("text-direction", modelPath, new SessionSettings { IntraOpThreads = 1, InterOpThreads = 1 });
        _inputs = [_tensor];
    }

    public float Request(float[] input)
    {
        _tensor.Initialize("x", TensorElementType.Float, ProbeInput.Shape);
        input.CopyTo(_tensor.GetSpan<float>());
        _session.Run(_inputs, _outputs, _results);
        using var output = _results[0]!;
        return MemoryMarshal.Cast<byte, float>(output.Bytes)[0];
    }

    public void Dispose()
    {
        _tensor.Dispose();
        _session.Dispose();
    }
}
