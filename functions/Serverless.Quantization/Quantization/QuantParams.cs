namespace Serverless.Quantization.Quantization;

/// <summary>Scale and zero point of a per-tensor (affine) quantization.</summary>
public readonly record struct QuantParams(float Scale, int ZeroPoint);

/// <summary>The observed float range of one activation tensor.</summary>
public readonly record struct TensorRange(float Min, float Max)
{
    /// <summary><see cref="SnapOutward"/> rounds to 2^GridBits steps per power of two.</summary>
    public const int GridBits = 6;

    /// <summary>
    /// The range widened to the next multiples of a coarse grid (1/64 of the power of two below its largest magnitude).
    /// Calibration activations come from ONNX Runtime's float kernels, which differ in their last bits between CPUs
    /// (AVX2, AVX-512, arm64); snapped ranges, and so the int8 bytes built from them, stay the same unless a range sits
    /// within those last bits of the middle between grid lines. A bound within 1/1024 of a step of a grid line snaps to
    /// that line, so exact bounds (Relu6's 6, a sigmoid's 1) and their last-bit neighbours give the same range; that
    /// clips at most 1/1024 of a step, a few thousandths of one int8 level. Otherwise widening never clips.
    /// </summary>
    public TensorRange SnapOutward()
    {
        var magnitude = Math.Max(Math.Abs((double)Min), Math.Abs((double)Max));
        if (magnitude == 0 || !double.IsFinite(magnitude))
        {
            return this;
        }

        const double Tolerance = 1.0 / 1024;
        var step = Math.ScaleB(1.0, Math.ILogB(magnitude) - GridBits);
        return new TensorRange((float)(Math.Floor((Min / step) + Tolerance) * step), (float)(Math.Ceiling((Max / step) - Tolerance) * step));
    }
}

/// <summary>Element type of quantized activations. Weights are always int8 symmetric.</summary>
public enum ActivationType
{
    /// <summary>uint8 activations with int8 weights (U8S8): the fastest integer path of ORT's x86 CPU kernels.</summary>
    UInt8,
    Int8,
}

/// <summary>
/// The arithmetic of int8 quantization, written to match ONNX QuantizeLinear exactly (round half to
/// even, saturate) so a weight quantized here dequantizes to what ORT would compute.
/// </summary>
public static class QuantMath
{
    /// <summary>Affine parameters for an activation range. The range always includes 0 so zero is exact (padding, ReLU).</summary>
    public static QuantParams Activation(TensorRange range, ActivationType type)
    {
        var (qmin, qmax) = type == ActivationType.UInt8 ? (0, 255) : (-128, 127);
        double rmin = Math.Min(range.Min, 0f);
        double rmax = Math.Max(range.Max, 0f);
        if (!double.IsFinite(rmin) || !double.IsFinite(rmax))
        {
            throw new ArgumentException($"Range [{range.Min}, {range.Max}] is not finite.", nameof(range));
        }

        var scale = (rmax - rmin) / (qmax - qmin);
        if (scale <= 0 || (float)scale <= float.Epsilon)
        {
            return new QuantParams(1f, type == ActivationType.UInt8 ? 0 : 0);
        }

        var zero = (int)Math.Clamp(Math.Round(qmin - (rmin / scale), MidpointRounding.ToEven), qmin, qmax);
        return new QuantParams((float)scale, zero);
    }

    /// <summary>Largest weight magnitude of a full-range int8 weight: [-127, 127], so -128 never appears (keeps u8s8 sums symmetric).</summary>
    public const int FullRange = 127;

    /// <summary>
    /// Largest weight magnitude of a reduced-range (7-bit) weight. x86-64 CPUs without VNNI multiply uint8 activations
    /// by int8 weights with VPMADDUBSW, which adds two products into a saturating int16: 2 x 255 x 127 overflows it, and
    /// 2 x 255 x 63 = 32,130 never does, so the integer result is the same on every CPU (ONNX Runtime's documented remedy).
    /// </summary>
    public const int ReducedRange = 63;

    /// <summary>
    /// Symmetric int8 per-channel quantization of <paramref name="weights"/> along <paramref name="axis"/> of
    /// <paramref name="dims"/> into [-<paramref name="qmax"/>, <paramref name="qmax"/>]: <see cref="FullRange"/> for
    /// weights restored to fp32, <see cref="ReducedRange"/> for weights an integer kernel multiplies with uint8 activations.
    /// </summary>
    public static (sbyte[] Values, float[] Scales) PerChannelInt8(ReadOnlySpan<float> weights, ReadOnlySpan<long> dims, int axis, int qmax = FullRange)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(qmax, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qmax, FullRange);
        ArgumentOutOfRangeException.ThrowIfNegative(axis);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(axis, dims.Length);
        long outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= dims[i];
        }

        var channels = (int)dims[axis];
        long inner = 1;
        for (var i = axis + 1; i < dims.Length; i++)
        {
            inner *= dims[i];
        }

        var amax = new float[channels];
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var start = ((o * channels) + c) * inner;
                for (long i = 0; i < inner; i++)
                {
                    amax[c] = Math.Max(amax[c], Math.Abs(weights[(int)(start + i)]));
                }
            }
        }

        var scales = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            scales[c] = amax[c] > 0 ? amax[c] / qmax : 1f;
        }

        var values = new sbyte[weights.Length];
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var start = ((o * channels) + c) * inner;
                for (long i = 0; i < inner; i++)
                {
                    var k = (int)(start + i);
                    values[k] = (sbyte)Math.Clamp(Math.Round(weights[k] / scales[c], MidpointRounding.ToEven), -qmax, qmax);
                }
            }
        }

        return (values, scales);
    }

    /// <summary>Bias as int32 with scale input_scale * weight_scale[c] and zero point 0, as QLinearConv/QGemm expect.</summary>
    public static (int[] Values, float[] Scales) BiasInt32(ReadOnlySpan<float> bias, float inputScale, ReadOnlySpan<float> weightScales)
    {
        var values = new int[bias.Length];
        var scales = new float[bias.Length];
        for (var c = 0; c < bias.Length; c++)
        {
            var s = inputScale * weightScales[weightScales.Length == 1 ? 0 : c];
            scales[c] = s > 0 ? s : 1f;
            values[c] = (int)Math.Clamp(Math.Round(bias[c] / (double)scales[c], MidpointRounding.ToEven), int.MinValue + 1, int.MaxValue);
        }

        return (values, scales);
    }
}
