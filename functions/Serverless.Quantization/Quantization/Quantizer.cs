using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Quantization.Calibration;
using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Quantization;

/// <summary>The quantized model and what was done to it.</summary>
/// <param name="Description">What was applied (also the model's serverless.quantization metadata): the options'
/// description for the top-level graph, and/or what the If-branch pass did when it rewrote anything.</param>
public sealed record QuantizationResult(ModelProto Model, QuantizationSummary Summary, int OpsetFrom, int OpsetTo, int FoldedBatchNorms, string Description);

/// <summary>
/// fp32 -> int8. Both modes first move Constant-node weights into initializers and fold
/// BatchNormalization into Conv (PaddleOCR exports keep both apart), then raise the opset where the
/// quantized ops need it. Static mode calibrates on the fp32 model before rewriting, so the ranges are
/// of the real fp32 activations. Layers inside If branches are then handled by <see cref="SubgraphRewriter"/>
/// in either mode (weights only, no calibration); Loop/Scan bodies are left fp32 and listed as skipped.
/// </summary>
public sealed class Quantizer
{
    /// <summary>Opset that per-channel QuantizeLinear/DequantizeLinear need (the axis attribute).</summary>
    public const int StaticOpset = 13;

    /// <summary>Opset that DynamicQuantizeLinear needs.</summary>
    public const int DynamicOpset = 11;

    private static readonly HashSet<string> CalibratedOps = new(StringComparer.Ordinal) { "Conv", "MatMul", "Gemm", "Add", "Mul", "Relu", "Clip", "Softmax", "LogSoftmax", "Hardmax" };

    private readonly IInferenceSessionFactory? _factory;
    private readonly Action<string>? _progress;

    public Quantizer(IInferenceSessionFactory? factory, Action<string>? progress = null)
    {
        _factory = factory;
        _progress = progress;
    }

    public QuantizationResult Quantize(ModelProto source, QuantizerOptions options, IReadOnlyList<CalibrationSample>? samples = null, string modelName = "model")
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var model = source.Clone();
        var graph = model.Graph;
        var from = OpsetUpgrader.DefaultDomainVersion(model);
        GraphEdits.ConstantsToInitializers(graph);
        var folded = BatchNormFolder.Fold(graph);
        var affine = options.FoldConvAffine ? ConvAffineFolder.Fold(graph) : 0;
        _progress?.Invoke($"{modelName}: opset {from}, {graph.Node.Count} nodes, {graph.Initializer.Count} initializers, {folded} BatchNormalization and {affine} constant Mul/Add folded into Conv");

        QuantizationSummary summary;
        if (options.Mode == QuantizationMode.WeightOnly)
        {
            summary = WeightOnlyRewriter.Rewrite(graph, options);
        }
        else if (options.Mode == QuantizationMode.Dynamic)
        {
            OpsetUpgrader.Upgrade(model, DynamicOpset, modelName: modelName);
            summary = DynamicRewriter.Rewrite(graph, options);
        }
        else
        {
            if (_factory is null)
            {
                throw new InvalidOperationException("Static quantization calibrates through ONNX Runtime; construct the Quantizer with a session factory.");
            }

            if (samples is null || samples.Count == 0)
            {
                throw InferenceException.BadInput($"Static quantization of '{modelName}' needs calibration samples; pass --calibration DIR (scripts/calibration/generate.sh makes one) or use --mode dynamic.", modelName);
            }

            var tensors = CalibrationTensors(graph);
            _progress?.Invoke($"{modelName}: calibrating {tensors.Count} activation tensors on {samples.Count} samples ({options.Method})");
            // A graph with nothing quantizable at its top level (e.g. all weights inside If branches) needs no run.
            var stats = tensors.Count == 0
                ? new Dictionary<string, TensorStatistics>()
                : new Calibrator(_factory, _progress) { Perturbation = options.CalibrationPerturbation }.Collect(model, tensors, samples, options.Method, options.HistogramBins, modelName);
            OpsetUpgrader.Upgrade(model, StaticOpset, name => stats.TryGetValue(name, out var s) && s.Rank >= 0 ? s.Rank : null, modelName);
            summary = QdqRewriter.Rewrite(graph, Calibrator.Ranges(stats, options), options);
        }

        // Layers inside If branches (Silero VAD keeps all of them there) get weight quantization that needs no calibration.
        var topLevel = new Dictionary<string, int>(summary.QuantizedByOp, StringComparer.Ordinal);
        SubgraphRewriter.Rewrite(model, options, summary);
        var branchOps = summary.QuantizedByOp.Select(kv => (kv.Key, Count: kv.Value - topLevel.GetValueOrDefault(kv.Key))).Where(x => x.Count > 0).ToList();

        // A model whose layers all sit in If branches (Silero VAD) got none of the top-level mode's treatment,
        // so its description names only what the branch pass did; a model without branches keeps the options'.
        var description = branchOps.Count == 0
            ? options.Describe()
            : (topLevel.Values.Sum() > 0 ? options.Describe() + "; " : string.Empty) + SubgraphRewriter.Describe(branchOps);
        model.MetadataProps.Add(new StringStringEntryProto { Key = "serverless.quantization", Value = description });
        _progress?.Invoke($"{modelName}: {summary}");
        return new QuantizationResult(model, summary, from, OpsetUpgrader.DefaultDomainVersion(model), folded, description);
    }

    /// <summary>Float activations read or written by the ops the rewriter may quantize (plus Softmax inputs, whose rank the opset upgrade checks).</summary>
    public static List<string> CalibrationTensors(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var types = ElementTypes.Infer(graph);
        var inits = GraphEdits.Initializers(graph);
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.Domain.Length != 0 || !CalibratedOps.Contains(node.OpType))
            {
                continue;
            }

            foreach (var name in node.Input.Concat(node.Output))
            {
                if (name.Length > 0 && !inits.ContainsKey(name) && types.TryGetValue(name, out var t) && t == OnnxDataType.Float && seen.Add(name))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }
}
