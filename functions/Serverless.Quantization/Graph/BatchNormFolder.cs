using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Graph;

/// <summary>
/// Folds BatchNormalization into the Conv before it. ORT does this itself for fp32 models, but once a
/// Conv's weight sits behind a DequantizeLinear it no longer can, so the quantizer must fold first and
/// quantize the folded weight. Math is done in double and rounded once, so the result is reproducible.
/// </summary>
public static class BatchNormFolder
{
    public static int Fold(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var inits = GraphEdits.Initializers(graph);
        var producers = GraphEdits.Producers(graph);
        var consumers = GraphEdits.Consumers(graph);
        var outputs = GraphEdits.GraphOutputNames(graph);
        var removed = new HashSet<NodeProto>();
        var folded = 0;
        foreach (var bn in graph.Node)
        {
            if (bn.OpType != "BatchNormalization" || bn.Domain.Length != 0 || bn.Output.Count != 1 || bn.Input.Count != 5)
            {
                continue;
            }

            var x = bn.Input[0];
            if (!producers.TryGetValue(x, out var conv) || conv.OpType != "Conv" || conv.Domain.Length != 0 || outputs.Contains(x)
                || !consumers.TryGetValue(x, out var users) || users.Count != 1
                || !inits.TryGetValue(conv.Input[1], out var w) || w.DataType != OnnxDataType.Float
                || !TryFloats(inits, bn.Input[1], out var gamma) || !TryFloats(inits, bn.Input[2], out var beta)
                || !TryFloats(inits, bn.Input[3], out var mean) || !TryFloats(inits, bn.Input[4], out var variance))
            {
                continue;
            }

            var m = (int)w.Dims[0];
            if (gamma.Length != m || beta.Length != m || mean.Length != m || variance.Length != m)
            {
                continue;
            }

            float[]? bias = null;
            if (conv.Input.Count > 2 && conv.Input[2].Length > 0 && !TryFloats(inits, conv.Input[2], out bias))
            {
                continue;
            }

            var epsilon = GraphEdits.FloatAttribute(bn, "epsilon", 1e-5f);
            var weights = TensorProtos.ReadFloats(w);
            var per = weights.Length / m;
            var newW = new float[weights.Length];
            var newB = new float[m];
            for (var c = 0; c < m; c++)
            {
                var factor = gamma[c] / Math.Sqrt(variance[c] + (double)epsilon);
                for (var i = 0; i < per; i++)
                {
                    newW[(c * per) + i] = (float)(weights[(c * per) + i] * factor);
                }

                newB[c] = (float)((((bias?[c]) ?? 0.0) - mean[c]) * factor + beta[c]);
            }

            var wName = conv.Name + "_W_bnfold";
            var bName = conv.Name + "_B_bnfold";
            graph.Initializer.Add(TensorProtos.Float(wName, [.. w.Dims], newW));
            graph.Initializer.Add(TensorProtos.Float(bName, [m], newB));
            GraphEdits.SetWeightAndBias(conv, wName, bName);

            conv.Output[0] = bn.Output[0];
            removed.Add(bn);
            folded++;
        }

        if (folded > 0)
        {
            var kept = graph.Node.Where(n => !removed.Contains(n)).ToList();
            graph.Node.Clear();
            graph.Node.AddRange(kept);
            GraphEdits.RemoveUnusedInitializers(graph);
        }

        return folded;
    }

    private static bool TryFloats(Dictionary<string, TensorProto> inits, string name, out float[] values)
    {
        if (inits.TryGetValue(name, out var t) && t.DataType == OnnxDataType.Float)
        {
            values = TensorProtos.ReadFloats(t);
            return true;
        }

        values = [];
        return false;
    }
}
