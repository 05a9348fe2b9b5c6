using Serverless.Quantization.Calibration;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Tool;

/// <summary>How each of the product's models is quantized; setup (quantize-models) and the report use the same settings.</summary>
internal sealed record Recipe(string Name, Preset Preset, QuantizerOptions Options, int Samples, bool LatencyBar)
{
    public static IReadOnlyList<Recipe> All { get; } =
    [
        new("text-direction", Preset.TextDirection, new QuantizerOptions(), 48, false),
        // The OCR models store their weights as int8 and compute in fp32: static int8 of the convolution backbone reads
        // realistic printed lines worse than fp32 (it loses spaces after punctuation), and with the 7-bit weights that keep
        // it exact on CPUs without VNNI it moves detection boxes below their bar. Weight-only storage reads like fp32 on
        // every CPU, needs no calibration (so its bytes do not depend on the CPU), and detection's Conv+Mul/Add fold makes
        // it run fewer nodes than fp32.
        new("text-detection", Preset.TextDetection, new QuantizerOptions { Mode = QuantizationMode.WeightOnly, FoldConvAffine = true }, 0, true),
        new("text-recognition", Preset.TextRecognition, new QuantizerOptions { Mode = QuantizationMode.WeightOnly }, 0, true),
        // voice-activity (Silero VAD v5): every layer sits in the two branches of an If on the sample rate (16 and 8 kHz),
        // where the quantizer's branch pass needs no calibration: the 4 LSTMs become DynamicQuantizeLSTM (int8 weights,
        // integer kernel) and the 12 Convs keep fp32 arithmetic on int8-stored weights that ORT restores at session
        // creation. The top level holds only the If, so dynamic mode: no calibration data is read (samples 0).
        new("voice-activity", Preset.VoiceActivity, new QuantizerOptions { Mode = QuantizationMode.Dynamic }, 0, false),
    ];

    public static Recipe Find(string name) =>
        All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No recipe for model '{name}'; known: {string.Join(", ", All.Select(r => r.Name))}.", nameof(name));

    private string FullRangeFlag => Options.ReduceRange ? string.Empty : " --full-range";

    /// <summary>The flags that reproduce this recipe with the quantize command (recorded in model.json's derivedFrom).</summary>
    public string CommandLine
    {
        get
        {
            var excludes = (Options.ExcludeOps.Count > 0 ? $" --exclude-ops {string.Join(',', Options.ExcludeOps.Order(StringComparer.Ordinal))}" : string.Empty)
                + (Options.ExcludeNodes.Count > 0 ? $" --exclude-nodes {string.Join(',', Options.ExcludeNodes.Order(StringComparer.Ordinal))}" : string.Empty);
            return Options.Mode switch
            {
                QuantizationMode.Dynamic => $"quantize --mode dynamic --preset {Name}" + excludes + FullRangeFlag,
                QuantizationMode.WeightOnly => $"quantize --mode weight-only --preset {Name}" + excludes + (Options.FoldConvAffine ? " --fold-conv-affine" : string.Empty),
                _ => $"quantize --mode static --method {Options.Method.ToString().ToLowerInvariant()} --preset {Name} --samples {Samples}" + excludes
                  + (Options.FoldConvAffine ? " --fold-conv-affine" : string.Empty)
                  + FullRangeFlag + " --calibration scripts/calibration/generate.sh:calibration",
            };
        }
    }
}
