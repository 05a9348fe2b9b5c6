using Serverless.Core.Inference;
using Serverless.Quantization.Onnx;

namespace Serverless.Quantization.Quantization;

/// <summary>
/// What ONNX Runtime actually runs: the model after its graph optimizations, written by ORT
/// (SessionSettings.OptimizedModelPath) and read back with our reader. A QDQ file only proves the
/// layout; this proves ORT fused it into integer kernels (QLinearConv, QLinearMatMul, QLinearAdd, ...).
/// </summary>
public static class OptimizedGraph
{
    /// <summary>Op types that mean "this runs in integer arithmetic".</summary>
    public static readonly IReadOnlySet<string> IntegerOps = new HashSet<string>(StringComparer.Ordinal)
    {
        "QLinearConv", "QLinearMatMul", "QGemm", "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearAveragePool",
        "QLinearGlobalAveragePool", "QLinearConcat", "QLinearLeakyRelu", "QLinearSoftmax", "MatMulInteger", "ConvInteger",
        "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "DynamicQuantizeLSTM", "NhwcQLinearConv",
    };

    /// <summary>Op-type counts of the optimized graph ORT builds from <paramref name="modelPath"/>.</summary>
    public static SortedDictionary<string, int> OpCounts(IInferenceSessionFactory factory, string modelPath, GraphOptimization level = GraphOptimization.All)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var optimized = Path.Combine(Path.GetTempPath(), $"serverless-optimized-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            using (factory.Create("optimized-graph", modelPath, new SessionSettings { Optimization = level, OptimizedModelPath = optimized, IntraOpThreads = 1 }))
            {
            }

            var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            Count(OnnxModelFile.Load(optimized).Graph, counts);
            return counts;
        }
        finally
        {
            File.Delete(optimized);
        }
    }

    /// <summary>Counts nodes of the graph and of every subgraph (If branches, Loop bodies), where some models keep all their layers.</summary>
    private static void Count(Proto.GraphProto graph, SortedDictionary<string, int> counts)
    {
        foreach (var node in graph.Node)
        {
            counts[node.OpType] = counts.GetValueOrDefault(node.OpType) + 1;
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null)
                {
                    Count(attribute.G, counts);
                }

                foreach (var sub in attribute.Graphs)
                {
                    Count(sub, counts);
                }
            }
        }
    }

    public static int IntegerOpCount(IReadOnlyDictionary<string, int> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return counts.Where(kv => IntegerOps.Contains(kv.Key)).Sum(kv => kv.Value);
    }
}
