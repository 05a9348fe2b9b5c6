using System.Security.Cryptography;
using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Quantization;

/// <summary>
/// Quantizes the weights of layers that live inside If branches (then/else, recursively), which the
/// top-level passes never see; Silero VAD keeps its whole network in the two branches of an If on the
/// sample rate. Branch graphs have no inputs of their own and read activations and weights of enclosing
/// graphs by name (outer scope), so every name stays as it is and new tensors get names unique in the
/// whole model. No activation of a branch can be calibrated through a plain session run (a branch's
/// tensors cannot be made graph outputs), so nothing here needs activation ranges:
/// <list type="bullet">
/// <item>LSTM becomes com.microsoft DynamicQuantizeLSTM: W and R int8 per gate row, stored transposed as
/// the contrib op wants ([dirs, input, 4*hidden]), activations quantized at run time (an integer kernel).
/// Weights built by Slice/Concat/Unsqueeze chains (PyTorch's gate reordering) are evaluated first; the
/// int8 result is placed in the graph that held the original weights, so two LSTMs that read the same
/// weights (Silero's two state branches) share one copy.</item>
/// <item>MatMul with a constant 2-D weight becomes com.microsoft DynamicQuantizeMatMul (int8 per column).</item>
/// <item>Conv keeps fp32 arithmetic but stores its weight as int8 per output channel, restored by
/// Cast + Mul on constants, which ORT folds back to fp32 at session creation: the file shrinks 4x and
/// the run time does not change. (A DequantizeLinear would not be folded: ORT keeps DQ nodes for QDQ
/// fusion and would dequantize on every run, and ConvInteger or QDQ Convs need calibrated input ranges.)</item>
/// </list>
/// Loop and Scan bodies are not rewritten; each is reported in the summary's skipped list.
/// </summary>
public static class SubgraphRewriter
{
    public const string MicrosoftDomain = "com.microsoft";

    public static void Rewrite(ModelProto model, QuantizerOptions options, QuantizationSummary summary)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(summary);
        if (!model.Graph.Node.Any(HasSubgraphs))
        {
            return;
        }

        var state = new State(options, summary, GraphEdits.AllNames(model.Graph));
        foreach (var node in model.Graph.Node.ToList())
        {
            Visit(node, [model.Graph], state);
        }

        foreach (var (graph, nodes) in state.Prefix)
        {
            for (var i = nodes.Count - 1; i >= 0; i--)
            {
                graph.Node.Insert(0, nodes[i]);
            }
        }

        Cleanup(model.Graph, isSubgraph: false);
        if (state.UsesContribOps && !model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
    }

    /// <summary>What the branch pass applied, per op type it rewrote (count of nodes), for provenance and the report.</summary>
    public static string Describe(IEnumerable<(string Op, int Count)> rewritten)
    {
        ArgumentNullException.ThrowIfNull(rewritten);
        var parts = rewritten.OrderBy(r => r.Op, StringComparer.Ordinal).Select(r => r.Op switch
        {
            "LSTM" => $"{r.Count} LSTM -> com.microsoft DynamicQuantizeLSTM (W and R int8 per gate row, activations quantized at run time)",
            "MatMul" => $"{r.Count} MatMul -> com.microsoft DynamicQuantizeMatMul (int8 per column, activations quantized at run time)",
            "Conv" => $"{r.Count} Conv with int8-stored weights (per output channel), restored to fp32 by ORT at session creation (fp32 arithmetic)",
            _ => $"{r.Count} {r.Op}",
        });
        return "If-branch weight quantization, no calibration: " + string.Join(", ", parts);
    }

    internal static bool HasSubgraphs(NodeProto node) => node.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0);

    private sealed class State(QuantizerOptions options, QuantizationSummary summary, HashSet<string> names)
    {
        public QuantizerOptions Options { get; } = options;

        public QuantizationSummary Summary { get; } = summary;

        public Dictionary<GraphProto, List<NodeProto>> Prefix { get; } = new(ReferenceEqualityComparer.Instance);

        // (graph that holds the int8 copy, content key) -> names of the quantized tensors, so shared weights stay shared.
        public Dictionary<(GraphProto, string), string[]> Quantized { get; } = new(new GraphKeyComparer());

        public bool UsesContribOps { get; set; }

        public string Unique(string name) => GraphEdits.UniqueName(names, name);
    }

    private sealed class GraphKeyComparer : IEqualityComparer<(GraphProto, string)>
    {
        public bool Equals((GraphProto, string) x, (GraphProto, string) y) => ReferenceEquals(x.Item1, y.Item1) && x.Item2 == y.Item2;

        public int GetHashCode((GraphProto, string) obj) => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1), obj.Item2);
    }

    private static void Visit(NodeProto node, List<GraphProto> scopes, State state)
    {
        if (!HasSubgraphs(node))
        {
            return;
        }

        if (node.OpType != "If" || node.Domain.Length != 0)
        {
            state.Summary.Skipped.Add($"{node.OpType} '{node.Name}': its body is not rewritten (only If branches are quantized)");
            return;
        }

        foreach (var attribute in node.Attribute)
        {
            if (attribute.G is { } branch)
            {
                RewriteBranch(branch, [.. scopes, branch], state);
            }
        }
    }

    private static void RewriteBranch(GraphProto graph, List<GraphProto> scopes, State state)
    {
        // Tensor Constants of a branch become its initializers (where weights must be to be found), except one that
        // is itself a branch output (If branches often return a constant), which stays a node.
        GraphEdits.ConstantsToInitializers(graph, keepGraphOutputs: true);
        foreach (var node in graph.Node.ToList())
        {
            if (node.Domain.Length == 0 && node.OpType is "LSTM" or "Conv" or "MatMul" or "Gemm")
            {
                if (state.Options.ExcludeNodes.Contains(node.Name) || state.Options.ExcludeOps.Contains(node.OpType))
                {
                    state.Summary.Excluded.Add(node.Name);
                }
                else
                {
                    var done = node.OpType switch
                    {
                        "LSTM" => Lstm(node, scopes, state),
                        "Conv" => ConvWeights(node, scopes, state),
                        "MatMul" => MatMul(node, scopes, state),
                        _ => false,
                    };
                    if (!done)
                    {
                        state.Summary.Skipped.Add($"{node.OpType} '{node.Name}' in subgraph '{graph.Name}'");
                    }
                }
            }

            Visit(node, scopes, state);
        }
    }

    private static bool Lstm(NodeProto node, List<GraphProto> scopes, State state)
    {
        if (node.Input.Count < 3 || GraphEdits.IntAttribute(node, "layout", 0) != 0)
        {
            return false;
        }

        var evaluator = new ConstantEvaluator();
        if (!evaluator.TryEvaluate(scopes, node.Input[1], out var w, out var wDepth) || !evaluator.TryEvaluate(scopes, node.Input[2], out var r, out var rDepth)
            || w.DataType != OnnxDataType.Float || r.DataType != OnnxDataType.Float || w.Dims.Length != 3 || r.Dims.Length != 3
            || w.Dims[0] != r.Dims[0] || w.Dims[1] != r.Dims[1])
        {
            return false;
        }

        var wq = QuantizedLstmWeight(w, scopes[wDepth], node.Name + "_W", state);
        var rq = QuantizedLstmWeight(r, scopes[rDepth], node.Name + "_R", state);
        var inputs = node.Input.Take(8).ToList();
        while (inputs.Count < 8)
        {
            inputs.Add(string.Empty);
        }

        inputs[1] = wq[0];
        inputs[2] = rq[0];
        inputs.AddRange([wq[1], wq[2], rq[1], rq[2]]);
        node.Input.Clear();
        node.Input.AddRange(inputs);
        node.OpType = "DynamicQuantizeLSTM";
        node.Domain = MicrosoftDomain;
        var layout = node.Attribute.FirstOrDefault(a => a.Name == "layout");
        if (layout is not null)
        {
            node.Attribute.Remove(layout);
        }

        state.UsesContribOps = true;
        state.Summary.Count("LSTM");
        return true;
    }

    /// <summary>[dirs, 4H, K] fp32 -> int8 [dirs, K, 4H] with one scale per (direction, gate row); shared when an identical copy exists.</summary>
    private static string[] QuantizedLstmWeight(ConstantTensor w, GraphProto owner, string baseName, State state)
    {
        var key = Convert.ToHexString(SHA256.HashData(w.Bytes)) + string.Join('x', w.Dims);
        if (state.Quantized.TryGetValue((owner, key), out var names))
        {
            return names;
        }

        long dirs = w.Dims[0], rows = w.Dims[1], k = w.Dims[2];
        var (values, scales) = QuantMath.PerChannelInt8(w.Floats(), [dirs * rows, k], 0, state.Options.IntegerWeightRange);
        var transposed = new sbyte[values.Length];
        for (long d = 0; d < dirs; d++)
        {
            for (long row = 0; row < rows; row++)
            {
                for (long i = 0; i < k; i++)
                {
                    transposed[(d * k * rows) + (i * rows) + row] = values[(d * rows * k) + (row * k) + i];
                }
            }
        }

        names = [state.Unique(baseName + "_quantized"), state.Unique(baseName + "_scale"), state.Unique(baseName + "_zero_point")];
        owner.Initializer.Add(TensorProtos.Int8(names[0], [dirs, k, rows], transposed));
        owner.Initializer.Add(TensorProtos.Float(names[1], [dirs, rows], scales));
        owner.Initializer.Add(TensorProtos.Int8(names[2], [dirs, rows], new sbyte[scales.Length]));
        state.Quantized[(owner, key)] = names;
        return names;
    }

    private static bool ConvWeights(NodeProto node, List<GraphProto> scopes, State state)
    {
        if (node.Input.Count < 2 || Initializer(scopes, node.Input[1]) is not var (owner, w) || w.DataType != OnnxDataType.Float || w.Dims.Count < 3
            || w.DataLocation == TensorProto.Types.DataLocation.External)
        {
            return false;
        }

        var key = "conv-weight:" + w.Name;
        if (!state.Quantized.TryGetValue((owner, key), out var names))
        {
            if (!state.Prefix.TryGetValue(owner, out var prefix))
            {
                state.Prefix[owner] = prefix = [];
            }

            names = [WeightOnlyRewriter.Store(owner, w, 0, prefix, state.Unique)];
            state.Quantized[(owner, key)] = names;
        }

        node.Input[1] = names[0];
        state.Summary.Count("Conv");
        state.Summary.WeightOnly++;
        return true;
    }

    private static bool MatMul(NodeProto node, List<GraphProto> scopes, State state)
    {
        if (Initializer(scopes, node.Input[1]) is not var (owner, w) || w.DataType != OnnxDataType.Float || w.Dims.Count != 2
            || w.DataLocation == TensorProto.Types.DataLocation.External || Initializer(scopes, node.Input[0]) is not null)
        {
            return false;
        }

        var key = "matmul-weight:" + w.Name;
        if (!state.Quantized.TryGetValue((owner, key), out var names))
        {
            var dims = w.Dims.ToArray();
            var (values, scales) = QuantMath.PerChannelInt8(TensorProtos.ReadFloats(w), dims, 1, state.Options.IntegerWeightRange);
            names = [state.Unique(w.Name + "_quantized"), state.Unique(w.Name + "_scale"), state.Unique(w.Name + "_zero_point")];
            owner.Initializer.Add(TensorProtos.Int8(names[0], dims, values));
            owner.Initializer.Add(TensorProtos.Float(names[1], [dims[1]], scales));
            owner.Initializer.Add(TensorProtos.Int8(names[2], [dims[1]], new sbyte[scales.Length]));
            state.Quantized[(owner, key)] = names;
        }

        var a = node.Input[0];
        node.Input.Clear();
        node.Input.AddRange([a, names[0], names[1], names[2]]);
        node.OpType = "DynamicQuantizeMatMul";
        node.Domain = MicrosoftDomain;
        state.UsesContribOps = true;
        state.Summary.Count("MatMul");
        return true;
    }

    /// <summary>The initializer a name refers to from the innermost scope, and the graph that holds it.</summary>
    private static (GraphProto Owner, TensorProto Tensor)? Initializer(List<GraphProto> scopes, string name)
    {
        for (var d = scopes.Count - 1; d >= 0; d--)
        {
            var g = scopes[d];
            if (g.Initializer.FirstOrDefault(t => t.Name == name) is { } t)
            {
                return (g, t);
            }

            if (g.Node.Any(n => n.Output.Contains(name)) || g.Input.Any(i => i.Name == name))
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>Drops what the rewrite left unread: nodes in If branches (innermost first), then initializers. Loop/Scan bodies are left as they are.</summary>
    private static void Cleanup(GraphProto graph, bool isSubgraph)
    {
        foreach (var node in graph.Node.Where(n => n.OpType == "If" && n.Domain.Length == 0))
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is { } g)
                {
                    Cleanup(g, isSubgraph: true);
                }
            }
        }

        if (isSubgraph)
        {
            var outputs = GraphEdits.GraphOutputNames(graph);
            bool removed;
            do
            {
                var consumers = GraphEdits.Consumers(graph);
                var dead = graph.Node.Where(n => n.Output.All(o => o.Length == 0 || (!consumers.ContainsKey(o) && !outputs.Contains(o)))).ToList();
                foreach (var n in dead)
                {
                    graph.Node.Remove(n);
                }

                removed = dead.Count > 0;
            }
            while (removed);
        }

        GraphEdits.RemoveUnusedInitializers(graph);
    }

}
