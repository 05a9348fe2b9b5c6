using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Graph;

/// <summary>
/// Propagates element types through a graph in node order, so calibration only asks ORT for float
/// tensors (adding an int64 shape tensor as a FLOAT output would make the model invalid). Unknown
/// types stay absent; callers treat absent as "not float".
/// </summary>
public static class ElementTypes
{
    private static readonly HashSet<string> Int64Ops = new(StringComparer.Ordinal) { "Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression" };

    private static readonly HashSet<string> BoolOps = new(StringComparer.Ordinal) { "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf" };

    public static Dictionary<string, int> Infer(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var types = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var v in graph.Input.Concat(graph.ValueInfo))
        {
            if (v.Type?.TensorType is { } t && t.ElemType != 0)
            {
                types[v.Name] = t.ElemType;
            }
        }

        foreach (var t in graph.Initializer)
        {
            types[t.Name] = t.DataType;
        }

        foreach (var node in graph.Node)
        {
            int? type = node.OpType switch
            {
                _ when node.Domain.Length > 0 && node.Domain != "ai.onnx" => null,
                "Cast" => (int)GraphEdits.IntAttribute(node, "to", 0),
                "Constant" => GraphEdits.Attribute(node, "value")?.T?.DataType,
                "ConstantOfShape" => GraphEdits.Attribute(node, "value")?.T?.DataType ?? OnnxDataType.Float,
                "DequantizeLinear" => OnnxDataType.Float,
                "QuantizeLinear" => node.Input.Count > 2 && types.TryGetValue(node.Input[2], out var zp) ? zp : OnnxDataType.UInt8,
                "If" or "Loop" or "Scan" => null,
                _ when Int64Ops.Contains(node.OpType) => OnnxDataType.Int64,
                _ when BoolOps.Contains(node.OpType) => 9,
                _ => node.Input.Count > 0 && types.TryGetValue(node.Input[0], out var first) ? first : null,
            };

            if (type is { } known and > 0)
            {
                foreach (var o in node.Output)
                {
                    if (o.Length > 0)
                    {
                        types[o] = known;
                    }
                }
            }
        }

        return types;
    }
}
