using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Quantization;

/// <summary>
/// Weight-only int8 storage: each Conv, MatMul and Gemm weight of the graph is stored as int8 per output channel and
/// restored by <c>Mul(Cast(w_int8), scale)</c>. Both inputs are constants, so ONNX Runtime folds the pair back into an
/// fp32 weight at session creation and runs the fp32 kernels: the download shrinks about 4x while the arithmetic, and
/// so the accuracy on any CPU, stays fp32's up to the rounding of the weights. Nothing is calibrated, so the bytes
/// depend only on the fp32 model. (A DequantizeLinear would not be folded: ORT keeps DQ nodes for QDQ fusion.)
/// </summary>
public static class WeightOnlyRewriter
{
    public static QuantizationSummary Rewrite(GraphProto graph, QuantizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(options);
        QdqRewriter.NameNodes(graph);
        var inits = GraphEdits.Initializers(graph);
        var names = GraphEdits.AllNames(graph);
        var restored = new Dictionary<(string Weight, int Axis), string>();
        var prefix = new List<NodeProto>();
        var summary = new QuantizationSummary();
        foreach (var node in graph.Node)
        {
            if (node.Domain.Length != 0 || node.OpType is not ("Conv" or "MatMul" or "Gemm") || node.Input.Count < 2)
            {
                continue;
            }

            if (options.ExcludeNodes.Contains(node.Name) || options.ExcludeOps.Contains(node.OpType))
            {
                summary.Excluded.Add(node.Name);
                continue;
            }

            if (!inits.TryGetValue(node.Input[1], out var w) || w.DataType != OnnxDataType.Float
                || w.DataLocation == TensorProto.Types.DataLocation.External || OutputAxis(node, w) is not int axis)
            {
                summary.Skipped.Add(node.Name);
                continue;
            }

            if (!restored.TryGetValue((w.Name, axis), out var name))
            {
                name = Store(graph, w, axis, prefix, candidate => GraphEdits.UniqueName(names, candidate));
                restored[(w.Name, axis)] = name;
            }

            node.Input[1] = name;
            summary.Count(node.OpType);
            summary.WeightOnly++;
        }

        for (var i = prefix.Count - 1; i >= 0; i--)
        {
            graph.Node.Insert(0, prefix[i]);
        }

        GraphEdits.RemoveUnusedInitializers(graph);
        return summary;
    }

    /// <summary>
    /// Adds <paramref name="w"/> as int8 per channel of <paramref name="axis"/> to <paramref name="owner"/>, with the Cast
    /// and Mul that restore it appended to <paramref name="prefix"/>; returns the restored tensor's name.
    /// </summary>
    public static string Store(GraphProto owner, TensorProto w, int axis, List<NodeProto> prefix, Func<string, string> unique)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(unique);
        var dims = w.Dims.ToArray();
        var (values, scales) = QuantMath.PerChannelInt8(TensorProtos.ReadFloats(w), dims, axis);
        string int8 = unique(w.Name + "_int8"), scale = unique(w.Name + "_int8_scale"), cast = unique(w.Name + "_int8_cast"), restored = unique(w.Name + "_int8_restored");
        owner.Initializer.Add(TensorProtos.Int8(int8, dims, values));

        // The scale broadcasts along the channel axis: [C, 1, ..., 1] for axis 0, [C] for the last axis.
        var scaleDims = new long[dims.Length - axis];
        Array.Fill(scaleDims, 1L);
        scaleDims[0] = dims[axis];
        owner.Initializer.Add(TensorProtos.Float(scale, scaleDims, scales));
        var castNode = GraphEdits.Node("Cast", unique(cast + "_Cast"), [int8], [cast]);
        castNode.Attribute.Add(GraphEdits.IntAttr("to", OnnxDataType.Float));
        prefix.Add(castNode);
        prefix.Add(GraphEdits.Node("Mul", unique(restored + "_Mul"), [cast, scale], [restored]));
        return restored;
    }

    /// <summary>The weight's output-channel axis: 0 for Conv, the last for a 2-D MatMul or Gemm weight (first with transB); null otherwise.</summary>
    private static int? OutputAxis(NodeProto node, TensorProto w) => node.OpType switch
    {
        "Conv" when w.Dims.Count >= 3 => 0,
        "MatMul" when w.Dims.Count == 2 => 1,
        "Gemm" when w.Dims.Count == 2 => GraphEdits.IntAttribute(node, "transB", 0) != 0 ? 0 : 1,
        _ => null,
    };
}
