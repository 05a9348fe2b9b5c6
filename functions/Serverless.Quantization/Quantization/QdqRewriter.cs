using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Quantization;

/// <summary>
/// Static quantization in QDQ form. Each quantized activation T becomes T -> QuantizeLinear ->
/// DequantizeLinear and every reader of T reads the DequantizeLinear output; weights become int8
/// initializers behind a per-channel DequantizeLinear; biases become int32 with scale
/// input_scale * weight_scale. That is the exact layout ORT's QDQ transformer matches, so at session
/// creation DQ -> Conv -> Q turns into QLinearConv, DQ -> MatMul -> Q into QLinearMatMul, Add/Mul into
/// QLinearAdd/QLinearMul. A Relu, or Clip with min 0, right after a quantized node is dropped and its
/// range used instead: the uint8 QuantizeLinear then does the clamping, which lets the Conv fuse.
/// </summary>
public static class QdqRewriter
{
    public static readonly IReadOnlySet<string> SupportedOps = new HashSet<string>(StringComparer.Ordinal) { "Conv", "MatMul", "Gemm", "Add", "Mul" };

    public static QuantizationSummary Rewrite(GraphProto graph, IReadOnlyDictionary<string, TensorRange> ranges, QuantizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(options);
        NameNodes(graph);
        var inits = GraphEdits.Initializers(graph);
        var consumers = GraphEdits.Consumers(graph);
        var outputs = GraphEdits.GraphOutputNames(graph);
        var types = ElementTypes.Infer(graph);
        var summary = new QuantizationSummary();

        bool IsActivation(string name) =>
            name.Length > 0 && !inits.ContainsKey(name) && !outputs.Contains(name) && ranges.ContainsKey(name)
            && types.TryGetValue(name, out var t) && t == OnnxDataType.Float;

        bool IsFloatInit(string name, int rank) =>
            inits.TryGetValue(name, out var t) && t.DataType == OnnxDataType.Float && (rank < 0 || t.Dims.Count == rank);

        bool Excluded(NodeProto n) => options.ExcludeNodes.Contains(n.Name) || options.ExcludeOps.Contains(n.OpType);

        // 1. Which nodes to quantize.
        var chosen = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (node.Domain.Length != 0 || !SupportedOps.Contains(node.OpType) || node.Output.Count != 1)
            {
                continue;
            }

            if (Excluded(node))
            {
                summary.Excluded.Add(node.Name);
                continue;
            }

            var ok = node.OpType switch
            {
                "Conv" => IsActivation(node.Input[0]) && IsFloatInit(node.Input[1], -1) && inits[node.Input[1]].Dims.Count >= 3
                          && (node.Input.Count < 3 || node.Input[2].Length == 0 || IsFloatInit(node.Input[2], 1)),
                "MatMul" => IsActivation(node.Input[0]) && (IsFloatInit(node.Input[1], 2) || IsActivation(node.Input[1])),
                "Gemm" => IsActivation(node.Input[0]) && IsFloatInit(node.Input[1], 2)
                          && GraphEdits.IntAttribute(node, "transA", 0) == 0 && GraphEdits.FloatAttribute(node, "alpha", 1f) == 1f
                          && (node.Input.Count < 3 || node.Input[2].Length == 0 || (IsFloatInit(node.Input[2], 1) && GraphEdits.FloatAttribute(node, "beta", 1f) == 1f)),
                _ => IsActivation(node.Input[0]) && IsActivation(node.Input[1]),
            };
            if (ok)
            {
                chosen.Add(node);
            }
        }

        // 2. Fold a following Relu / Clip(min 0) into the quantized output.
        var removed = new HashSet<NodeProto>();
        foreach (var node in chosen)
        {
            if (node.OpType == "Mul" || !consumers.TryGetValue(node.Output[0], out var users) || users.Count != 1 || outputs.Contains(node.Output[0]))
            {
                continue;
            }

            var act = users[0];
            var clipAtZero = act.OpType == "Clip" && act.Input.Count > 1 && inits.TryGetValue(act.Input[1], out var min)
                             && min.DataType == OnnxDataType.Float && TensorProtos.ReadFloats(min) is [0f];
            if (act.Domain.Length == 0 && (act.OpType == "Relu" || clipAtZero) && !Excluded(act) && IsActivation(act.Output[0]))
            {
                node.Output[0] = act.Output[0];
                removed.Add(act);
                summary.FoldedActivations++;
            }
        }

        // A MatMul/Gemm whose output cannot be quantized (a graph output) still gains: DQ -> MatMul without a
        // trailing Q becomes MatMulIntegerToFloat. A Conv would stay fp32 behind an extra DQ, so it is skipped.
        foreach (var node in chosen)
        {
            if (!IsActivation(node.Output[0]) && node.OpType is not ("MatMul" or "Gemm"))
            {
                summary.Skipped.Add($"{node.Name} (output '{node.Output[0]}' has no calibrated range or is a graph output)");
            }
        }

        chosen.RemoveAll(n => !IsActivation(n.Output[0]) && n.OpType is not ("MatMul" or "Gemm"));

        // 3. Quantization parameters of every activation touched.
        var quantized = new SortedDictionary<string, QuantParams>(StringComparer.Ordinal);
        foreach (var node in chosen)
        {
            foreach (var name in node.OpType is "Conv" or "Gemm" ? [node.Input[0], node.Output[0]] : (IEnumerable<string>)[.. node.Input, node.Output[0]])
            {
                if (IsActivation(name))
                {
                    quantized[name] = QuantMath.Activation(ranges[name], options.Activations);
                }
            }
        }

        // 4. Emit the new node list in the original order with Q/DQ pairs next to producers.
        var chosenSet = chosen.ToHashSet();
        var zeroType = options.Activations == ActivationType.UInt8 ? OnnxDataType.UInt8 : OnnxDataType.Int8;
        var nodes = new List<NodeProto>(graph.Node.Count * 2);
        foreach (var input in graph.Input)
        {
            if (quantized.TryGetValue(input.Name, out var p))
            {
                EmitActivationQdq(graph, nodes, input.Name, p, zeroType);
            }
        }

        foreach (var node in graph.Node)
        {
            if (removed.Contains(node))
            {
                continue;
            }

            if (chosenSet.Contains(node))
            {
                QuantizeWeights(graph, nodes, node, inits, quantized, options.IntegerWeightRange);
                summary.Count(node.OpType);
            }

            for (var i = 0; i < node.Input.Count; i++)
            {
                if (quantized.ContainsKey(node.Input[i]) && !(chosenSet.Contains(node) && IsWeightSlot(node, i, inits)))
                {
                    node.Input[i] = DqName(node.Input[i]);
                }
            }

            nodes.Add(node);
            foreach (var output in node.Output)
            {
                if (quantized.TryGetValue(output, out var p))
                {
                    EmitActivationQdq(graph, nodes, output, p, zeroType);
                }
            }
        }

        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        GraphEdits.RemoveUnusedInitializers(graph);
        summary.QuantizedTensors = quantized.Count;
        return summary;
    }

    /// <summary>Gives every unnamed node a stable name, because generated tensor names derive from node names.</summary>
    public static void NameNodes(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var used = graph.Node.Select(n => n.Name).Where(n => n.Length > 0).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            if (node.Name.Length == 0)
            {
                var name = $"{node.OpType}_{i}";
                while (!used.Add(name))
                {
                    name += "_";
                }

                node.Name = name;
            }
        }
    }

    internal static string DqName(string tensor) => tensor + "_dq";

    private static bool IsWeightSlot(NodeProto node, int index, Dictionary<string, TensorProto> inits) =>
        index > 0 && inits.ContainsKey(node.Input[index]);

    private static void EmitActivationQdq(GraphProto graph, List<NodeProto> nodes, string tensor, QuantParams p, int zeroType)
    {
        var scale = tensor + "_s";
        var zero = tensor + "_zp";
        graph.Initializer.Add(TensorProtos.Float(scale, [], [p.Scale]));
        graph.Initializer.Add(zeroType == OnnxDataType.UInt8
            ? TensorProtos.UInt8(zero, [], [(byte)p.ZeroPoint])
            : TensorProtos.Int8(zero, [], [(sbyte)p.ZeroPoint]));
        var q = tensor + "_q";
        nodes.Add(GraphEdits.Node("QuantizeLinear", tensor + "_Q", [tensor, scale, zero], [q]));
        nodes.Add(GraphEdits.Node("DequantizeLinear", tensor + "_DQ", [q, scale, zero], [DqName(tensor)]));
    }

    private static void QuantizeWeights(GraphProto graph, List<NodeProto> nodes, NodeProto node, Dictionary<string, TensorProto> inits, SortedDictionary<string, QuantParams> quantized, int weightRange)
    {
        if (node.OpType is "Add" or "Mul" || (node.OpType == "MatMul" && !inits.ContainsKey(node.Input[1])))
        {
            return;
        }

        var w = inits[node.Input[1]];
        var axis = node.OpType switch
        {
            "Conv" => 0,
            "Gemm" => GraphEdits.IntAttribute(node, "transB", 0) != 0 ? 0 : 1,
            _ => 1,
        };
        var dims = w.Dims.ToArray();
        var (values, scales) = QuantMath.PerChannelInt8(TensorProtos.ReadFloats(w), dims, axis, weightRange);
        // Weights are named after themselves (short names keep small models small); a weight shared by two
        // nodes gets the node name too, since each node may need a different axis.
        var prefix = inits.ContainsKey(w.Name + "_q") ? node.Name + "_" + w.Name : w.Name;
        var qw = TensorProtos.Int8(prefix + "_q", dims, values);
        graph.Initializer.Add(qw);
        inits[qw.Name] = qw;
        graph.Initializer.Add(TensorProtos.Float(prefix + "_s", [scales.Length], scales));
        graph.Initializer.Add(TensorProtos.Int8(prefix + "_zp", [scales.Length], new sbyte[scales.Length]));
        var dq = GraphEdits.Node("DequantizeLinear", prefix + "_DQ", [prefix + "_q", prefix + "_s", prefix + "_zp"], [prefix + "_dq"]);
        dq.Attribute.Add(GraphEdits.IntAttr("axis", axis));
        nodes.Add(dq);
        node.Input[1] = prefix + "_dq";

        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            var b = inits[node.Input[2]];
            var inputScale = quantized[node.Input[0]].Scale;
            var (bq, bs) = QuantMath.BiasInt32(TensorProtos.ReadFloats(b), inputScale, scales);
            var bp = inits.ContainsKey(b.Name + "_q") ? node.Name + "_" + b.Name : b.Name;
            var qb = TensorProtos.Int32(bp + "_q", [bq.Length], bq);
            graph.Initializer.Add(qb);
            inits[qb.Name] = qb;
            graph.Initializer.Add(TensorProtos.Float(bp + "_s", [bs.Length], bs));
            var bdq = GraphEdits.Node("DequantizeLinear", bp + "_DQ", [bp + "_q", bp + "_s"], [bp + "_dq"]);
            bdq.Attribute.Add(GraphEdits.IntAttr("axis", 0));
            nodes.Add(bdq);
            node.Input[2] = bp + "_dq";
        }
    }
}

/// <summary>What a quantization pass did, for progress output and the report.</summary>
public sealed class QuantizationSummary
{
    public SortedDictionary<string, int> QuantizedByOp { get; } = new(StringComparer.Ordinal);

    public List<string> Excluded { get; } = [];

    public List<string> Skipped { get; } = [];

    public int FoldedActivations { get; set; }

    /// <summary>Nodes (counted in <see cref="QuantizedByOp"/>) whose weights are stored as int8 but computed in fp32 (Convs inside If branches).</summary>
    public int WeightOnly { get; set; }

    public int QuantizedTensors { get; set; }

    public int Total => QuantizedByOp.Values.Sum();

    internal void Count(string op) => QuantizedByOp[op] = QuantizedByOp.GetValueOrDefault(op) + 1;

    public override string ToString() =>
        $"quantized {Total} nodes ({string.Join(", ", QuantizedByOp.Select(kv => $"{kv.Key} {kv.Value}"))}), {QuantizedTensors} activation tensors, {FoldedActivations} Relu/Clip folded, {(WeightOnly > 0 ? $"{WeightOnly} weight-only (int8 storage, fp32 arithmetic), " : string.Empty)}{Excluded.Count} excluded, {Skipped.Count} skipped" + (Total == 0 && Skipped.Count > 0 ? $" ({Skipped[^1]})" : string.Empty);
}
