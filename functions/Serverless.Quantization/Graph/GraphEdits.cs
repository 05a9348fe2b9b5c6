using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Graph;

/// <summary>Small lookups and edits over a graph that the rewriting passes share.</summary>
public static class GraphEdits
{
    /// <summary>Every name used in <paramref name="graph"/> and its subgraphs: inputs, outputs, initializers, nodes and their tensors.</summary>
    public static HashSet<string> AllNames(GraphProto graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Add(GraphProto g)
        {
            names.UnionWith(g.Input.Select(i => i.Name));
            names.UnionWith(g.Output.Select(o => o.Name));
            names.UnionWith(g.Initializer.Select(t => t.Name));
            foreach (var n in g.Node)
            {
                names.Add(n.Name);
                names.UnionWith(n.Input);
                names.UnionWith(n.Output);
                foreach (var a in n.Attribute)
                {
                    if (a.G is not null)
                    {
                        Add(a.G);
                    }

                    foreach (var s in a.Graphs)
                    {
                        Add(s);
                    }
                }
            }
        }

        Add(graph);
        return names;
    }

    /// <summary><paramref name="name"/>, or name_1, name_2, ... : the first not in <paramref name="names"/>, which it is then added to.</summary>
    public static string UniqueName(HashSet<string> names, string name)
    {
        ArgumentNullException.ThrowIfNull(names);
        var candidate = name;
        for (var i = 1; !names.Add(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }

    public static Dictionary<string, TensorProto> Initializers(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var map = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            map[t.Name] = t;
        }

        return map;
    }

    /// <summary>For each tensor name, the nodes that read it (in graph order).</summary>
    public static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var map = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
            {
                if (input.Length == 0)
                {
                    continue;
                }

                if (!map.TryGetValue(input, out var list))
                {
                    map[input] = list = [];
                }

                if (!list.Contains(node))
                {
                    list.Add(node);
                }
            }

            // Subgraphs (If/Loop bodies) may read outer tensors by name; count them so no pass renames those away.
            foreach (var attribute in node.Attribute)
            {
                foreach (var sub in SubgraphsOf(attribute))
                {
                    foreach (var name in OuterNamesReadBy(sub))
                    {
                        if (!map.TryGetValue(name, out var list))
                        {
                            map[name] = list = [];
                        }

                        if (!list.Contains(node))
                        {
                            list.Add(node);
                        }
                    }
                }
            }
        }

        return map;
    }

    /// <summary>Points a Conv (or Gemm) at new weight and bias initializers, adding the optional bias input if it had none.</summary>
    public static void SetWeightAndBias(NodeProto node, string weight, string bias)
    {
        node.Input[1] = weight;
        if (node.Input.Count > 2)
        {
            node.Input[2] = bias;
        }
        else
        {
            node.Input.Add(bias);
        }
    }

    /// <summary>The node that writes each tensor.</summary>
    public static Dictionary<string, NodeProto> Producers(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var map = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                if (output.Length > 0)
                {
                    map[output] = node;
                }
            }
        }

        return map;
    }

    public static HashSet<string> GraphOutputNames(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return [.. graph.Output.Select(o => o.Name)];
    }

    public static AttributeProto? Attribute(NodeProto node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        foreach (var a in node.Attribute)
        {
            if (a.Name == name)
            {
                return a;
            }
        }

        return null;
    }

    public static long IntAttribute(NodeProto node, string name, long fallback) => Attribute(node, name) is { } a ? a.I : fallback;

    public static float FloatAttribute(NodeProto node, string name, float fallback) => Attribute(node, name) is { } a ? a.F : fallback;

    public static AttributeProto IntAttr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto IntsAttr(string name, IEnumerable<long> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static NodeProto Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, string domain = "")
    {
        var node = new NodeProto { OpType = opType, Name = name };
        if (domain.Length > 0)
        {
            node.Domain = domain;
        }

        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    /// <summary>Drops initializers no node (or subgraph) reads any more, keeping the rest in their order.</summary>
    public static int RemoveUnusedInitializers(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var used = Consumers(graph);
        var outputs = GraphOutputNames(graph);
        var kept = graph.Initializer.Where(t => used.ContainsKey(t.Name) || outputs.Contains(t.Name)).ToList();
        var removed = graph.Initializer.Count - kept.Count;
        graph.Initializer.Clear();
        graph.Initializer.AddRange(kept);
        return removed;
    }

    /// <summary>
    /// Converts Constant nodes holding a tensor into initializers, which is where weights must be for quantization.
    /// With <paramref name="keepGraphOutputs"/> (a subgraph, whose outputs must stay node outputs), a Constant
    /// that writes one of the graph's outputs is left as it is.
    /// </summary>
    public static int ConstantsToInitializers(GraphProto graph, bool keepGraphOutputs = false)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var outputs = keepGraphOutputs ? GraphOutputNames(graph) : null;
        var converted = 0;
        var kept = new List<NodeProto>(graph.Node.Count);
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Constant" && node.Domain.Length == 0 && node.Attribute.Count == 1 && node.Attribute[0].Name == "value" && node.Attribute[0].T is { } tensor
                && (outputs is null || (node.Output.Count == 1 && !outputs.Contains(node.Output[0]))))
            {
                var init = tensor.Clone();
                init.Name = node.Output[0];
                graph.Initializer.Add(init);
                converted++;
                continue;
            }

            kept.Add(node);
        }

        graph.Node.Clear();
        graph.Node.AddRange(kept);
        return converted;
    }

    /// <summary>The graphs an attribute holds (If branches, Loop and Scan bodies).</summary>
    internal static IEnumerable<GraphProto> SubgraphsOf(AttributeProto attribute)
    {
        if (attribute.G is not null)
        {
            yield return attribute.G;
        }

        foreach (var g in attribute.Graphs)
        {
            yield return g;
        }
    }

    private static HashSet<string> OuterNamesReadBy(GraphProto sub)
    {
        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in sub.Input)
        {
            local.Add(i.Name);
        }

        foreach (var t in sub.Initializer)
        {
            local.Add(t.Name);
        }

        foreach (var n in sub.Node)
        {
            foreach (var o in n.Output)
            {
                local.Add(o);
            }
        }

        var outer = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in sub.Node)
        {
            foreach (var i in n.Input)
            {
                if (i.Length > 0 && !local.Contains(i))
                {
                    outer.Add(i);
                }
            }

            foreach (var a in n.Attribute)
            {
                foreach (var g in SubgraphsOf(a))
                {
                    foreach (var name in OuterNamesReadBy(g))
                    {
                        if (!local.Contains(name))
                        {
                            outer.Add(name);
                        }
                    }
                }
            }
        }

        foreach (var o in sub.Output)
        {
            if (!local.Contains(o.Name))
            {
                outer.Add(o.Name);
            }
        }

        return outer;
    }
}
