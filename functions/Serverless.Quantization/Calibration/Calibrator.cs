using System.Runtime.InteropServices;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Tensors;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Calibration;

/// <summary>
/// Collects activation ranges by running the fp32 model on calibration samples through the real ONNX
/// Runtime, with the tensors of interest added as extra graph outputs. Percentile and entropy need a
/// second pass (histograms over the range the first pass found).
/// </summary>
public sealed class Calibrator
{
    private readonly IInferenceSessionFactory _factory;
    private readonly Action<string>? _progress;

    /// <param name="factory">Creates ORT sessions (OnnxSessionFactory in production).</param>
    /// <param name="progress">Receives one line every <see cref="ProgressEvery"/> samples and at the end of a pass.</param>
    public Calibrator(IInferenceSessionFactory factory, Action<string>? progress = null)
    {
        _factory = factory ?? throw new ArgumentNullException(nameof(factory));
        _progress = progress;
    }

    public int ProgressEvery { get; init; } = 8;

    /// <summary>See <see cref="QuantizerOptions.CalibrationPerturbation"/>: relative amplitude of the deterministic change applied to each activation.</summary>
    public double Perturbation { get; init; }

    /// <summary>Runs the samples and returns statistics for each of <paramref name="tensors"/> (float tensors of the model).</summary>
    public IReadOnlyDictionary<string, TensorStatistics> Collect(
        ModelProto model, IReadOnlyList<string> tensors, IReadOnlyList<CalibrationSample> samples, CalibrationMethod method, int bins = 2048, string modelName = "model")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw InferenceException.BadInput($"Calibrating '{modelName}' needs at least one sample; the calibration set is empty. Run scripts/calibration/generate.sh OUTDIR and pass --calibration OUTDIR/calibration.", modelName);
        }

        var augmented = model.Clone();
        var existing = augmented.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in tensors)
        {
            if (existing.Add(name))
            {
                augmented.Graph.Output.Add(new ValueInfoProto
                {
                    Name = name,
                    Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxDataType.Float } },
                });
            }
        }

        var stats = tensors.Distinct(StringComparer.Ordinal).ToDictionary(t => t, t => new TensorStatistics(t), StringComparer.Ordinal);
        var bytes = OnnxModelFile.Serialize(augmented);

        // Basic optimization only: the extra outputs must survive, and fusions must not change what they hold.
        using var session = _factory.Create(modelName + "-calibration", bytes, new SessionSettings { Optimization = GraphOptimization.Basic });
        var outputIndex = new List<(int Index, TensorStatistics Stats)>();
        for (var i = 0; i < session.Outputs.Count; i++)
        {
            if (stats.TryGetValue(session.Outputs[i].Name, out var s))
            {
                outputIndex.Add((i, s));
            }
        }

        RunPass(session, samples, outputIndex, "range", (s, values) => s.AddRange(values));
        if (method != CalibrationMethod.MinMax)
        {
            RunPass(session, samples, outputIndex, "histogram", (s, values) => s.AddHistogram(values, bins));
        }

        return stats;
    }

    /// <summary>Turns statistics into the ranges the rewriter quantizes with.</summary>
    public static Dictionary<string, TensorRange> Ranges(IReadOnlyDictionary<string, TensorStatistics> stats, QuantizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(options);
        var ranges = new Dictionary<string, TensorRange>(StringComparer.Ordinal);
        foreach (var (name, s) in stats)
        {
            if (s.Count == 0 || !float.IsFinite(s.Min) || !float.IsFinite(s.Max))
            {
                continue;
            }

            var range = options.Method switch
            {
                CalibrationMethod.Percentile => s.Percentile(options.Percentile),
                CalibrationMethod.Entropy => s.Entropy(),
                _ => s.MinMax(),
            };
            ranges[name] = range.SnapOutward();
        }

        return ranges;
    }

    /// <summary>
    /// A copy of <paramref name="values"/> with each element scaled by 1 + amplitude x u, u in [-1, 1) from a hash of the
    /// sample, output and element index: the same in every pass, so range and histogram see the same activations.
    /// </summary>
    private static float[] Perturbed(ReadOnlySpan<float> values, double amplitude, int sample, int output)
    {
        var copy = new float[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var h = unchecked(((uint)sample * 0x9E3779B1u) ^ ((uint)output * 0x85EBCA77u) ^ ((uint)i * 0xC2B2AE3Du));
            h ^= h >> 15;
            h *= 0x2C1B3C6Du;
            h ^= h >> 12;
            var u = (h / 2147483648.0) - 1.0;
            copy[i] = (float)(values[i] * (1.0 + (amplitude * u)));
        }

        return copy;
    }

    private void RunPass(IInferenceSession session, IReadOnlyList<CalibrationSample> samples, List<(int Index, TensorStatistics Stats)> outputs, string pass, Action<TensorStatistics, ReadOnlySpan<float>> add)
    {
        var indices = outputs.Select(o => o.Index).ToArray();
        var results = new IOutputTensor?[indices.Length];
        for (var n = 0; n < samples.Count; n++)
        {
            var sample = samples[n];
            var inputs = new HostTensor[session.Inputs.Count];
            try
            {
                for (var i = 0; i < inputs.Length; i++)
                {
                    var name = session.Inputs[i].Name;
                    var tensor = sample.Inputs.FirstOrDefault(t => t.Name == name)
                        ?? throw InferenceException.BadInput($"Calibration sample '{sample.Id}' has no tensor for model input '{name}'.", tensor: name);
                    inputs[i] = tensor.ToHostTensor();
                }

                session.Run(inputs, indices, results);
                for (var k = 0; k < indices.Length; k++)
                {
                    var output = results[k]!;
                    if (output.ElementType == TensorElementType.Float)
                    {
                        outputs[k].Stats.Rank = output.Shape.Length;
                        var values = MemoryMarshal.Cast<byte, float>(output.Bytes);
                        add(outputs[k].Stats, Perturbation == 0 ? values : Perturbed(values, Perturbation, n, k));
                    }
                }
            }
            finally
            {
                foreach (var t in inputs)
                {
                    t?.Dispose();
                }

                for (var k = 0; k < results.Length; k++)
                {
                    results[k]?.Dispose();
                    results[k] = null;
                }
            }

            if ((n + 1) % ProgressEvery == 0 || n + 1 == samples.Count)
            {
                _progress?.Invoke($"calibration {pass} pass: {n + 1}/{samples.Count} samples");
            }
        }
    }
}
