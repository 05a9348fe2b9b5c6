using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Quantization;

/// <summary>
/// Dynamic quantization of MatMul and Gemm with constant weights: the weight becomes int8 per output
/// column, and at run time DynamicQuantizeLinear turns the activation into uint8 with its own scale:
/// <c>Mul(Cast(MatMulInteger(x_q, W_q, x_zp, W_zp)), x_scale * W_scale)</c>. ORT fuses that chain into
/// one DynamicQuantizeMatMul kernel. Conv stays fp32 in this mode: ORT's ConvInteger CPU kernel is a
/// plain im2col + integer GEMM without MLAS' fp32 convolution tricks and takes only per-tensor weight
/// zero points, so it is usually slower than the fp32 Conv it would replace; use static mode for
/// convolutional models.
/// </summary>
public static class DynamicRewriter
{
    public static QuantizationSummary Rewrite(GraphProto graph, QuantizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(options);
        QdqRewriter.NameNodes(graph);
        var inits = GraphEdits.Initializers(graph);
        var types = ElementTypes.Infer(graph);
        var summary = new QuantizationSummary();
        var quantizedInputs = new Dictionary<string, (string Q, string Scale, string Zero)>(StringComparer.Ordinal);
        var nodes = new List<NodeProto>(graph.Node.Count * 2);
        foreach (var node in graph.Node)
        {
            if (node.Domain.Length != 0 || node.OpType is not ("MatMul" or "Gemm"))
            {
                nodes.Add(node);
                continue;
            }

            if (options.ExcludeNodes.Contains(node.Name) || options.ExcludeOps.Contains(node.OpType))
            {
                summary.Excluded.Add(node.Name);
                nodes.Add(node);
                continue;
            }

            var x = node.Input[0];
            var isGemm = node.OpType == "Gemm";
            var hasBias = isGemm && node.Input.Count > 2 && node.Input[2].Length > 0;
            if (inits.ContainsKey(x) || !types.TryGetValue(x, out var xt) || xt != OnnxDataType.Float
                || !inits.TryGetValue(node.Input[1], out var w) || w.DataType != OnnxDataType.Float || w.Dims.Count != 2
                || (isGemm && (GraphEdits.IntAttribute(node, "transA", 0) != 0 || GraphEdits.FloatAttribute(node, "alpha", 1f) != 1f
                               || (hasBias && GraphEdits.FloatAttribute(node, "beta", 1f) != 1f))))
            {
                summary.Skipped.Add(node.Name);
                nodes.Add(node);
                continue;
            }

            // MatMulInteger wants [K, N]; a Gemm with transB stores [N, K], so transpose it once here.
            var values = TensorProtos.ReadFloats(w);
            long k = w.Dims[0], n = w.Dims[1];
            if (isGemm && GraphEdits.IntAttribute(node, "transB", 0) != 0)
            {
                values = Transpose(values, (int)k, (int)n);
                (k, n) = (n, k);
            }

            var (wq, ws) = QuantMath.PerChannelInt8(values, [k, n], 1, options.IntegerWeightRange);
            var p = node.Name + "_" + w.Name;
            graph.Initializer.Add(TensorProtos.Int8(p + "_quantized", [k, n], wq));
            graph.Initializer.Add(TensorProtos.Float(p + "_scale", [n], ws));
            graph.Initializer.Add(TensorProtos.Int8(p + "_zero_point", [n], new sbyte[n]));

            if (!quantizedInputs.TryGetValue(x, out var xq))
            {
                xq = (x + "_quantized", x + "_scale", x + "_zero_point");
                nodes.Add(GraphEdits.Node("DynamicQuantizeLinear", x + "_DynamicQuantizeLinear", [x], [xq.Q, xq.Scale, xq.Zero]));
                quantizedInputs[x] = xq;
            }

            var scales = p + "_scales_mul";
            var integer = p + "_MatMulInteger_Output";
            var cast = p + "_Cast_Output";
            var output = node.Output[0];
            var product = hasBias ? p + "_Mul_Output" : output;
            nodes.Add(GraphEdits.Node("Mul", p + "_scales_Mul", [xq.Scale, p + "_scale"], [scales]));
            nodes.Add(GraphEdits.Node("MatMulInteger", node.Name + "_MatMulInteger", [xq.Q, p + "_quantized", xq.Zero, p + "_zero_point"], [integer]));
            var castNode = GraphEdits.Node("Cast", node.Name + "_Cast", [integer], [cast]);
            castNode.Attribute.Add(GraphEdits.IntAttr("to", OnnxDataType.Float));
            nodes.Add(castNode);
            nodes.Add(GraphEdits.Node("Mul", node.Name + "_Mul", [cast, scales], [product]));
            if (hasBias)
            {
                nodes.Add(GraphEdits.Node("Add", node.Name + "_bias_Add", [product, node.Input[2]], [output]));
            }

            summary.Count(node.OpType);
        }

        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        GraphEdits.RemoveUnusedInitializers(graph);
        summary.QuantizedTensors = quantizedInputs.Count;
        return summary;
    }

    private static float[] Transpose(float[] values, int rows, int cols)
    {
        var t = new float[values.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                t[(c * rows) + r] = values[(r * cols) + c];
            }
        }

        return t;
    }
}
