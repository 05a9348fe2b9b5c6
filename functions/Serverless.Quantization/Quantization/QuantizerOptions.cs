namespace Serverless.Quantization.Quantization;

public enum QuantizationMode
{
    /// <summary>Int8 weights, activations quantized at run time (DynamicQuantizeLinear + MatMulInteger); no calibration.</summary>
    Dynamic,
    /// <summary>QuantizeLinear/DequantizeLinear on weights and activations with calibrated ranges (ORT fuses them into integer kernels).</summary>
    Static,
    /// <summary>
    /// Int8 storage of Conv, MatMul and Gemm weights (per output channel), restored to fp32 by Cast and Mul on constants
    /// that ONNX Runtime folds at session creation: the file shrinks about 4x, the arithmetic stays fp32 (no integer
    /// kernel, no calibration), so accuracy and speed are fp32's up to the rounding of the weights, on every CPU.
    /// </summary>
    WeightOnly,
}

public enum CalibrationMethod
{
    MinMax,
    Percentile,
    Entropy,
}

/// <summary>How to quantize; the defaults are what the product's int8 artifacts are built with.</summary>
public sealed record QuantizerOptions
{
    public QuantizationMode Mode { get; init; } = QuantizationMode.Static;

    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>For <see cref="CalibrationMethod.Percentile"/>: the share of values the range keeps, e.g. 99.99.</summary>
    public double Percentile { get; init; } = 99.99;

    public ActivationType Activations { get; init; } = ActivationType.UInt8;

    /// <summary>Node names left in fp32.</summary>
    public IReadOnlySet<string> ExcludeNodes { get; init; } = new HashSet<string>();

    /// <summary>Op types left in fp32 (e.g. "Add" to keep residual sums exact).</summary>
    public IReadOnlySet<string> ExcludeOps { get; init; } = new HashSet<string>();

    /// <summary>
    /// Fold a constant per-channel Mul/Add that follows a Conv into the Conv (exact up to float rounding).
    /// Off by default so existing artifacts keep their bytes; the OCR recipes turn it on.
    /// </summary>
    public bool FoldConvAffine { get; init; }

    /// <summary>
    /// Weights that an integer kernel multiplies with uint8 activations (static QDQ Conv/MatMul/Gemm, dynamic MatMul,
    /// DynamicQuantizeLSTM) use 7 bits (<see cref="QuantMath.ReducedRange"/>), so x86-64 CPUs without VNNI cannot
    /// saturate and every CPU computes the same integers. Weight-only storage (fp32 arithmetic) always uses 8 bits.
    /// </summary>
    public bool ReduceRange { get; init; } = true;

    /// <summary>The weight range of integer-kernel weights under these options.</summary>
    public int IntegerWeightRange => ReduceRange ? QuantMath.ReducedRange : QuantMath.FullRange;

    /// <summary>
    /// Relative amplitude of a deterministic perturbation applied to every calibration activation (0: none). It stands in
    /// for another CPU's float kernels, whose activations differ in their last bits, so tests can show what such a
    /// machine builds; it is never set when building artifacts.
    /// </summary>
    public double CalibrationPerturbation { get; init; }

    /// <summary>Histogram bins per tensor for percentile and entropy calibration.</summary>
    public int HistogramBins { get; init; } = 2048;

    /// <summary>A one-line description for provenance (model.json's derivedFrom, the report).</summary>
    public string Describe() => Mode switch
    {
        QuantizationMode.Dynamic => $"dynamic int8 (per-channel {WeightBits} weights for MatMul/Gemm, uint8 activations at run time)",
        QuantizationMode.WeightOnly => "weight-only int8 (per-channel int8 storage of Conv/MatMul/Gemm weights, fp32 arithmetic)"
              + (ExcludeNodes.Count > 0 ? $", excluded nodes {string.Join(',', ExcludeNodes.Order(StringComparer.Ordinal))}" : string.Empty),
        _ => $"static QDQ int8 (per-channel symmetric {WeightBits} weights, {(Activations == ActivationType.UInt8 ? "uint8" : "int8")} asymmetric activations, {Method switch { CalibrationMethod.Percentile => $"percentile {Percentile.ToString(System.Globalization.CultureInfo.InvariantCulture)}", CalibrationMethod.Entropy => "entropy", _ => "min-max" }} calibration)"
              + (ExcludeOps.Count > 0 ? $", excluded ops {string.Join(',', ExcludeOps.Order(StringComparer.Ordinal))}" : string.Empty)
              + (FoldConvAffine ? ", Conv+Mul/Add folded" : string.Empty)
              + (ExcludeNodes.Count > 0 ? $", excluded nodes {string.Join(',', ExcludeNodes.Order(StringComparer.Ordinal))}" : string.Empty),
    };

    private string WeightBits => ReduceRange ? "7-bit int8" : "int8";
}
