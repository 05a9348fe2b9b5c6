using Serverless.Quantization.Calibration;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Tool;

/// <summary>How each of the product's models is quantized; setup (quantize-models) and the report use the same settings.</summary>
internal sealed record Recipe(string Name, Preset Preset, QuantizerOptions Options, int Samples, bool LatencyBar)
{
    // Element-wise Mul (hard-swish, attention scaling) and residual Add lose most accuracy in int8 and gain
    // little speed, so the OCR models keep them in fp32.
    private static readonly HashSet<string> KeepFp32 = new(StringComparer.Ordinal) { "Mul", "Add" };

    public static IReadOnlyList<Recipe> All { get; } =
    [
        new("text-direction", Preset.TextDirection, new QuantizerOptions(), 48, false),
        new("text-detection", Preset.TextDetection, new QuantizerOptions { ExcludeOps = KeepFp32, Method = CalibrationMethod.Percentile }, 24, true),
        new("text-recognition", Preset.TextRecognition, new QuantizerOptions { ExcludeOps = KeepFp32, Method = CalibrationMethod.Percentile }, 24, true),
        new("voice-activity", Preset.VoiceActivity, new QuantizerOptions(), 32, false),
    ];

    public static Recipe Find(string name) =>
        All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No recipe for model '{name}'; known: {string.Join(", ", All.Select(r => r.Name))}.", nameof(name));

    /// <summary>The flags that reproduce this recipe with the quantize command (recorded in model.json's derivedFrom).</summary>
    public string CommandLine =>
        $"quantize --mode {(Options.Mode == QuantizationMode.Dynamic ? "dynamic" : "static")} --method {Options.Method.ToString().ToLowerInvariant()} --preset {Name} --samples {Samples} --calibration scripts/calibration/generate.sh:calibration";
}
