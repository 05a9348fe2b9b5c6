namespace Serverless.Quantization.Quantization;

public enum QuantizationMode
{
    /// <summary>Int8 weights, activations quantized at run time (DynamicQuantizeLinear + MatMulInteger); no calibration.</summary>
    Dynamic,
    /// <summary>QuantizeLinear/DequantizeLinear on weights and activations with calibrated ranges (ORT fuses them into integer kernels).</summary>
    Static,
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

    /// <summary>Histogram bins per tensor for percentile and entropy calibration.</summary>
    public int HistogramBins { get; init; } = 2048;

    /// <summary>A one-line description for provenance (model.json's derivedFrom, the report).</summary>
    public string Describe() =>
        Mode == QuantizationMode.Dynamic
            ? "dynamic int8 (per-channel int8 weights for MatMul/Gemm, uint8 activations at run time)"
            : $"static QDQ int8 (per-channel symmetric int8 weights, {(Activations == ActivationType.UInt8 ? "uint8" : "int8")} asymmetric activations, {Method switch { CalibrationMethod.Percentile => $"percentile {Percentile.ToString(System.Globalization.CultureInfo.InvariantCulture)}", CalibrationMethod.Entropy => "entropy", _ => "min-max" }} calibration)"
              + (ExcludeOps.Count > 0 ? $", excluded ops {string.Join(',', ExcludeOps.Order(StringComparer.Ordinal))}" : string.Empty)
              + (FoldConvAffine ? ", Conv+Mul/Add folded" : string.Empty)
              + (ExcludeNodes.Count > 0 ? $", excluded nodes {string.Join(',', ExcludeNodes.Order(StringComparer.Ordinal))}" : string.Empty);
}
