using Serverless.Quantization.Calibration;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Tool;

/// <summary>How each of the product's models is quantized; setup (quantize-models) and the report use the same settings.</summary>
internal sealed record Recipe(string Name, Preset Preset, QuantizerOptions Options, int Samples, bool LatencyBar)
{
    // Element-wise Mul (hard-swish, attention scaling) and residual Add lose most accuracy in int8 and gain
    // little speed, so the OCR models keep them in fp32.
    private static readonly HashSet<string> KeepFp32 = new(StringComparer.Ordinal) { "Mul", "Add" };

    // text-detection: the stem and first block (full-resolution maps, four Convs) decide where box edges
    // fall; quantizing them moved edges by 1-2 px (box IoU 0.90). Everything after them is int8.
    private static readonly HashSet<string> DetectionStem = new(StringComparer.Ordinal) { "p2o.Conv.0", "p2o.Conv.1", "p2o.Conv.2", "p2o.Conv.3" };

    // text-recognition: the two attention blocks' activation-by-activation MatMuls (Q*K^T before Softmax,
    // Softmax*V) stay fp32: both operands are activations with per-tensor ranges, and they are cheap.
    private static readonly HashSet<string> RecognitionAttention = new(StringComparer.Ordinal) { "p2o.MatMul.2", "p2o.MatMul.4", "p2o.MatMul.14", "p2o.MatMul.16" };

    public static IReadOnlyList<Recipe> All { get; } =
    [
        new("text-direction", Preset.TextDirection, new QuantizerOptions(), 48, false),
        new("text-detection", Preset.TextDetection, new QuantizerOptions { ExcludeOps = KeepFp32, ExcludeNodes = DetectionStem, FoldConvAffine = true, Method = CalibrationMethod.Percentile }, 40, true),
        new("text-recognition", Preset.TextRecognition, new QuantizerOptions { ExcludeOps = KeepFp32, ExcludeNodes = RecognitionAttention, Method = CalibrationMethod.Percentile }, 24, true),
        // voice-activity (Silero VAD v5): every layer sits in the two branches of an If on the sample rate (16 and 8 kHz),
        // where the quantizer's branch pass needs no calibration: the 4 LSTMs become DynamicQuantizeLSTM (int8 weights,
        // integer kernel) and the 12 Convs keep fp32 arithmetic on int8-stored weights that ORT restores at session
        // creation. The top level holds only the If, so dynamic mode: no calibration data is read (samples 0).
        new("voice-activity", Preset.VoiceActivity, new QuantizerOptions { Mode = QuantizationMode.Dynamic }, 0, false),
    ];

    public static Recipe Find(string name) =>
        All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No recipe for model '{name}'; known: {string.Join(", ", All.Select(r => r.Name))}.", nameof(name));

    /// <summary>The flags that reproduce this recipe with the quantize command (recorded in model.json's derivedFrom).</summary>
    public string CommandLine
    {
        get
        {
            var excludes = (Options.ExcludeOps.Count > 0 ? $" --exclude-ops {string.Join(',', Options.ExcludeOps.Order(StringComparer.Ordinal))}" : string.Empty)
                + (Options.ExcludeNodes.Count > 0 ? $" --exclude-nodes {string.Join(',', Options.ExcludeNodes.Order(StringComparer.Ordinal))}" : string.Empty);
            return Options.Mode == QuantizationMode.Dynamic
                ? $"quantize --mode dynamic --preset {Name}" + excludes
                : $"quantize --mode static --method {Options.Method.ToString().ToLowerInvariant()} --preset {Name} --samples {Samples}" + excludes
                  + (Options.FoldConvAffine ? " --fold-conv-affine" : string.Empty)
                  + " --calibration scripts/calibration/generate.sh:calibration";
        }
    }
}
