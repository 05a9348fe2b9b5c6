using System.CommandLine;
using Serverless.Core.Errors;
using Serverless.Core.Onnx;
using Serverless.Quantization.Calibration;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Tool;

/// <summary>`quantize --model IN --output OUT --mode dynamic|static|weight-only --calibration DIR ...`.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "fp32 .onnx file to quantize.", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the int8 model.", Required = true };
        var mode = new Option<string>("--mode") { Description = "static (calibrated integer kernels), dynamic (MatMul/Gemm integer kernels, no calibration) or weight-only (int8 storage, fp32 arithmetic).", DefaultValueFactory = _ => "static" };
        var calibration = new Option<string?>("--calibration") { Description = "A calibration set made by scripts/calibration/generate.sh (OUTDIR/calibration)." };
        var preset = new Option<string?>("--preset") { Description = "Preprocessing: text-direction, text-detection, text-recognition, voice-activity (default: guessed from the model path)." };
        var method = new Option<string>("--method") { Description = "minmax, percentile or entropy.", DefaultValueFactory = _ => "minmax" };
        var percentile = new Option<double>("--percentile") { Description = "Percentile kept by --method percentile.", DefaultValueFactory = _ => 99.99 };
        var samples = new Option<int>("--samples") { Description = "Calibration samples to use at most.", DefaultValueFactory = _ => 48 };
        var excludeNodes = new Option<string?>("--exclude-nodes") { Description = "Comma-separated node names to keep in fp32." };
        var excludeOps = new Option<string?>("--exclude-ops") { Description = "Comma-separated op types to keep in fp32." };
        var activations = new Option<string>("--activations") { Description = "uint8 or int8.", DefaultValueFactory = _ => "uint8" };
        var foldAffine = new Option<bool>("--fold-conv-affine") { Description = "Fold a constant per-channel Mul/Add after a Conv into the Conv before quantizing." };
        var fullRange = new Option<bool>("--full-range") { Description = "8-bit integer-kernel weights instead of 7-bit (may saturate on x86-64 CPUs without VNNI)." };
        var command = new Command("quantize", "Quantize an fp32 ONNX model to int8.")
        {
            model, output, mode, calibration, preset, method, percentile, samples, excludeNodes, excludeOps, activations, foldAffine, fullRange, PerturbOption,
        };
        command.SetAction(parse =>
        {
            try
            {
                var options = new QuantizerOptions
                {
                    Mode = parse.GetValue(mode) switch
                    {
                        "dynamic" => QuantizationMode.Dynamic,
                        "static" => QuantizationMode.Static,
                        "weight-only" => QuantizationMode.WeightOnly,
                        var m => throw InferenceException.BadInput($"--mode '{m}' is not static, dynamic or weight-only."),
                    },
                    Method = parse.GetValue(method) switch
                    {
                        "minmax" => CalibrationMethod.MinMax,
                        "percentile" => CalibrationMethod.Percentile,
                        "entropy" => CalibrationMethod.Entropy,
                        var m => throw InferenceException.BadInput($"--method '{m}' is not minmax, percentile or entropy."),
                    },
                    Percentile = parse.GetValue(percentile),
                    Activations = parse.GetValue(activations) == "int8" ? ActivationType.Int8 : ActivationType.UInt8,
                    ExcludeNodes = Split(parse.GetValue(excludeNodes)),
                    ExcludeOps = Split(parse.GetValue(excludeOps)),
                    FoldConvAffine = parse.GetValue(foldAffine),
                    ReduceRange = !parse.GetValue(fullRange),
                    CalibrationPerturbation = parse.GetValue(PerturbOption),
                };
                Run(parse.GetValue(model)!, parse.GetValue(output)!, options, parse.GetValue(calibration), parse.GetValue(preset), parse.GetValue(samples));
                return 0;
            }
            catch (InferenceException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>Hidden: perturbs calibration activations (relative amplitude) to show what a CPU with other float kernels builds.</summary>
    internal static Option<double> PerturbOption { get; } = new("--perturb-calibration") { Hidden = true, Description = "Relative amplitude of a deterministic perturbation of calibration activations (tests only)." };

    public static QuantizationResult Run(string modelPath, string outputPath, QuantizerOptions options, string? calibrationDir, string? presetName, int sampleLimit)
    {
        var name = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(modelPath)))) ?? "model";
        IReadOnlyList<CalibrationSample>? samples = null;
        if (options.Mode == QuantizationMode.Static)
        {
            if (calibrationDir is null)
            {
                throw InferenceException.BadInput("Static mode needs --calibration DIR (make one with scripts/calibration/generate.sh OUTDIR, then pass OUTDIR/calibration).");
            }

            var preset = presetName is not null ? SampleSets.ParsePreset(presetName) : GuessPreset(modelPath);
            samples = SampleSets.Load(calibrationDir, preset, sampleLimit);
        }

        var quantizer = new Quantizer(OnnxSessionFactory.Instance, line => Console.Error.WriteLine(line));
        var result = quantizer.Quantize(OnnxModelFile.Load(modelPath), options, samples, name);
        OnnxModelFile.Save(result.Model, outputPath);
        Console.Error.WriteLine($"wrote {outputPath} ({new FileInfo(outputPath).Length} bytes, fp32 was {new FileInfo(modelPath).Length})");
        return result;
    }

    internal static Preset GuessPreset(string modelPath)
    {
        foreach (var name in new[] { "text-direction", "text-detection", "text-recognition", "voice-activity" })
        {
            if (modelPath.Contains(name, StringComparison.Ordinal))
            {
                return SampleSets.ParsePreset(name);
            }
        }

        throw InferenceException.BadInput($"Cannot tell which preprocessing '{modelPath}' needs; pass --preset text-direction|text-detection|text-recognition|voice-activity.");
    }

    private static HashSet<string> Split(string? value) =>
        value is null ? [] : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
