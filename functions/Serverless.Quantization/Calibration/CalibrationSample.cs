using Serverless.Core.Tensors;

namespace Serverless.Quantization.Calibration;

/// <summary>One named input of a calibration or evaluation sample (float or int64 data).</summary>
public sealed record SampleTensor(string Name, long[] Shape, float[]? Floats = null, long[]? Int64s = null)
{
    /// <summary>Copies the values into a pooled tensor the runtime reads in place.</summary>
    public HostTensor ToHostTensor()
    {
        var tensor = new HostTensor();
        if (Floats is not null)
        {
            tensor.Initialize(Name, TensorElementType.Float, Shape);
            Floats.AsSpan().CopyTo(tensor.GetSpan<float>());
        }
        else
        {
            tensor.Initialize(Name, TensorElementType.Int64, Shape);
            (Int64s ?? []).AsSpan().CopyTo(tensor.GetSpan<long>());
        }

        return tensor;
    }
}

/// <summary>The inputs of one model run.</summary>
public sealed record CalibrationSample(string Id, IReadOnlyList<SampleTensor> Inputs);
