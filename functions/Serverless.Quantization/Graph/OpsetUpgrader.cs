using Serverless.Core.Errors;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Graph;

/// <summary>
/// Raises the default-domain opset import (per-channel QuantizeLinear/DequantizeLinear need 13,
/// DynamicQuantizeLinear needs 11). Only ops whose meaning is known not to change between the versions
/// involved are allowed; ops whose attributes became inputs (Clip, Slice, Squeeze, Unsqueeze) are
/// rewritten; Softmax-like ops are kept only when they act on the last axis (where the pre-13 "flatten to
/// 2-D" semantics equal the new per-axis ones). Anything else is refused with the op's name, because a
/// silent semantic change would corrupt the model.
/// </summary>
public static class OpsetUpgrader
{
    // Ops whose schema did not change meaning from opset 7 through 13 (changes were added types, negative
    // axes or new optional inputs with the old default).
    private static readonly HashSet<string> Unchanged = new(StringComparer.Ordinal)
    {
        "Abs", "Acos", "Add", "And", "ArgMax", "ArgMin", "Asin", "Atan", "AveragePool", "BatchNormalization", "Cast",
        "Ceil", "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "DepthToSpace", "Div", "Elu",
        "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool",
        "Greater", "HardSigmoid", "Identity", "InstanceNormalization", "LeakyRelu", "Less", "Log", "LRN", "MatMul",
        "Max", "MaxPool", "Mean", "Min", "Mul", "Neg", "Not", "Or", "PRelu", "Pow", "Reciprocal", "ReduceL2",
        "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "Relu", "Reshape", "Selu", "Shape", "Sigmoid", "Sign",
        "Sin", "Size", "Softplus", "Softsign", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tan", "Tanh", "Tile",
        "Transpose", "Where", "Xor", "If", "Loop", "Range", "NonZero", "ScatterND", "GatherND", "Einsum",
        "MatMulInteger", "ConvInteger", "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
    };

    private static readonly HashSet<string> LastAxisOnly = new(StringComparer.Ordinal) { "Softmax", "LogSoftmax", "Hardmax" };

    public static int DefaultDomainVersion(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var o in model.OpsetImport)
        {
            if (o.Domain is "" or "ai.onnx")
            {
                return (int)o.Version;
            }
        }

        return 0;
    }

    /// <summary>
    /// Upgrades the model in place to at least <paramref name="target"/>. <paramref name="rankOf"/> gives a
    /// tensor's rank when known (from calibration runs or value_info), for the Softmax check.
    /// </summary>
    public static void Upgrade(ModelProto model, int target, Func<string, int?>? rankOf = null, string modelName = "model")
    {
        ArgumentNullException.ThrowIfNull(model);
        var from = DefaultDomainVersion(model);
        if (from >= target)
        {
            return;
        }

        if (from < 7)
        {
            throw Refuse(modelName, from, target, "opsets below 7 predate broadcasting rules the quantized kernels assume");
        }

        var graph = model.Graph;
        var ranks = RanksFromValueInfo(graph);
        var rank = (string name) => rankOf?.Invoke(name) ?? (ranks.TryGetValue(name, out var r) ? r : null);

        // Check everything before editing anything, so a refusal leaves the model untouched.
        foreach (var node in graph.Node)
        {
            if (node.Domain.Length != 0 && node.Domain != "ai.onnx")
            {
                continue;
            }

            // Only top-level nodes are rewritten, so a subgraph (If branch, Loop body) may hold only ops that need nothing.
            CheckSubgraphs(node, modelName, from, target);
            if (Unchanged.Contains(node.OpType) || node.OpType is "Clip" or "Slice" or "Squeeze" or "Unsqueeze" or "Resize")
            {
                if (node.OpType == "Resize" && from < 11)
                {
                    throw Refuse(modelName, from, target, $"node '{node.Name}' is Resize, whose coordinate rules changed at opset 11");
                }

                continue;
            }

            if (LastAxisOnly.Contains(node.OpType))
            {
                var axis = GraphEdits.IntAttribute(node, "axis", 1);
                if (target < 13 || axis == -1)
                {
                    continue;
                }

                var r = rank(node.Input[0]);
                if (r is null || (axis != r - 1 && axis != -1))
                {
                    throw Refuse(modelName, from, target,
                        $"node '{node.Name}' is {node.OpType} over axis {axis} of a tensor of rank {(r?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown")}; before opset 13 it flattens the trailing axes, after it does not");
                }

                continue;
            }

            throw Refuse(modelName, from, target, $"node '{node.Name}' is {node.OpType}, which this upgrader does not know to be unchanged between those versions");
        }

        foreach (var node in graph.Node)
        {
            if (node.Domain.Length != 0 && node.Domain != "ai.onnx")
            {
                continue;
            }

            switch (node.OpType)
            {
                case "Clip" when from < 11:
                    ClipAttributesToInputs(graph, node);
                    break;
                case "Slice" when from < 10:
                    AttributesToInputs(graph, node, ["starts", "ends", "axes", "steps"]);
                    break;
                case "Squeeze" or "Unsqueeze" when target >= 13:
                    AttributesToInputs(graph, node, ["axes"]);
                    break;
                default:
                    break;
            }
        }

        foreach (var o in model.OpsetImport)
        {
            if (o.Domain is "" or "ai.onnx")
            {
                o.Version = target;
            }
        }

        // IR 7 is what opset 13 requires at least; never lower a newer IR version.
        if (model.IrVersion < 7)
        {
            model.IrVersion = 7;
        }
    }

    private static void CheckSubgraphs(NodeProto owner, string modelName, int from, int target)
    {
        foreach (var attribute in owner.Attribute)
        {
            foreach (var sub in GraphEdits.SubgraphsOf(attribute))
            {
                foreach (var node in sub.Node)
                {
                    if ((node.Domain.Length == 0 || node.Domain == "ai.onnx") && !Unchanged.Contains(node.OpType))
                    {
                        throw Refuse(modelName, from, target, $"node '{node.Name}' ({node.OpType}) inside a subgraph of '{owner.Name}' would need rewriting, and this upgrader rewrites only the top-level graph");
                    }

                    CheckSubgraphs(node, modelName, from, target);
                }
            }
        }
    }

    private static InferenceException Refuse(string model, int from, int target, string why) =>
        InferenceException.BadInput(
            $"Model '{model}' uses opset {from}, and quantizing it needs opset {target}; the upgrade is not safe because {why}. Convert the model to opset {target} with the ONNX version converter first, or exclude the quantization that needs it (dynamic mode needs 11, static per-channel 13).",
            model);

    private static void ClipAttributesToInputs(GraphProto graph, NodeProto node)
    {
        var min = GraphEdits.Attribute(node, "min")?.F ?? float.MinValue;
        var max = GraphEdits.Attribute(node, "max")?.F ?? float.MaxValue;
        node.Attribute.Clear();
        var minName = node.Name + "_min";
        var maxName = node.Name + "_max";
        graph.Initializer.Add(TensorProtos.Float(minName, [], [min]));
        graph.Initializer.Add(TensorProtos.Float(maxName, [], [max]));
        node.Input.Add(minName);
        node.Input.Add(maxName);
    }

    private static void AttributesToInputs(GraphProto graph, NodeProto node, string[] names)
    {
        var values = names.Select(n => GraphEdits.Attribute(node, n)).ToArray();
        if (node.OpType == "Slice")
        {
            // Slice inputs are positional: data, starts, ends, axes, steps; trailing absent ones are dropped.
            for (var i = 0; i < names.Length; i++)
            {
                if (values[i] is null)
                {
                    if (values.Skip(i).All(v => v is null))
                    {
                        break;
                    }

                    node.Input.Add(string.Empty);
                    continue;
                }

                node.Input.Add(AddInts(graph, $"{node.Name}_{names[i]}", values[i]!.Ints));
            }
        }
        else if (values[0] is { } axes)
        {
            node.Input.Add(AddInts(graph, $"{node.Name}_axes", axes.Ints));
        }

        var kept = node.Attribute.Where(a => !names.Contains(a.Name)).ToList();
        node.Attribute.Clear();
        node.Attribute.AddRange(kept);
    }

    private static string AddInts(GraphProto graph, string name, IList<long> ints)
    {
        graph.Initializer.Add(TensorProtos.Int64(name, [ints.Count], [.. ints]));
        return name;
    }

    private static Dictionary<string, int> RanksFromValueInfo(GraphProto graph)
    {
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var v in graph.ValueInfo.Concat(graph.Input).Concat(graph.Output))
        {
            if (v.Type?.TensorType?.Shape is { } shape)
            {
                ranks[v.Name] = shape.Dim.Count;
            }
        }

        return ranks;
    }
}
