using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Graph;

/// <summary>
/// Folds a per-channel affine step that directly follows a Conv (Mul by a constant, then or instead Add
/// of a constant, broadcast over the output channels) into the Conv's weight and bias. PP-OCRv4's
/// backbone puts such a learnable scale and shift after nearly every Conv. Left alone they cost two
/// fp32 passes over every feature map and, worse, the Conv output is quantized before the scale, so
/// the uint8 grid fits the wrong range. Exact in real arithmetic (W' = W * s, b' = b * s + t); done in
/// double, rounded once, so it is reproducible.
/// </summary>
public static class ConvAffineFolder
{
    public static int Fold(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var folded = 0;
        var removed = new HashSet<NodeProto>();
        var inits = GraphEdits.Initializers(graph);
        var outputs = GraphEdits.GraphOutputNames(graph);
        bool changed;
        do
        {
            changed = false;
            var consumers = GraphEdits.Consumers(graph);
            foreach (var conv in graph.Node)
            {
                if (removed.Contains(conv) || conv.OpType != "Conv" || conv.Domain.Length != 0 || conv.Output.Count != 1
                    || outputs.Contains(conv.Output[0]) || !consumers.TryGetValue(conv.Output[0], out var users) || users.Count != 1
                    || !inits.TryGetValue(conv.Input[1], out var w) || w.DataType != OnnxDataType.Float)
                {
                    continue;
                }

                var step = users[0];
                if (removed.Contains(step) || step.Domain.Length != 0 || step.OpType is not ("Mul" or "Add") || step.Input.Count != 2)
                {
                    continue;
                }

                var other = step.Input[0] == conv.Output[0] ? step.Input[1] : step.Input[0];
                var m = (int)w.Dims[0];
                if (other == conv.Output[0] || !TryChannelConstant(inits, other, m, out var c))
                {
                    continue;
                }

                float[]? bias = null;
                if (conv.Input.Count > 2 && conv.Input[2].Length > 0)
                {
                    if (!inits.TryGetValue(conv.Input[2], out var b) || b.DataType != OnnxDataType.Float)
                    {
                        continue;
                    }

                    bias = TensorProtos.ReadFloats(b);
                }

                var weights = TensorProtos.ReadFloats(w);
                var per = weights.Length / m;
                var newB = new float[m];
                float[] newW;
                if (step.OpType == "Mul")
                {
                    newW = new float[weights.Length];
                    for (var o = 0; o < m; o++)
                    {
                        for (var i = 0; i < per; i++)
                        {
                            newW[(o * per) + i] = (float)(weights[(o * per) + i] * (double)c[o]);
                        }

                        newB[o] = (float)(((bias?[o]) ?? 0.0) * c[o]);
                    }
                }
                else
                {
                    newW = weights;
                    for (var o = 0; o < m; o++)
                    {
                        newB[o] = (float)(((bias?[o]) ?? 0.0) + c[o]);
                    }
                }

                // Named after the step so a Conv folded twice (Mul then Add) gets fresh, stable names.
                var wName = step.OpType == "Mul" ? step.Name + "_W_fold" : conv.Input[1];
                var bName = step.Name + "_B_fold";
                if (step.OpType == "Mul")
                {
                    var nw = TensorProtos.Float(wName, [.. w.Dims], newW);
                    graph.Initializer.Add(nw);
                    inits[wName] = nw;
                }

                var nb = TensorProtos.Float(bName, [m], newB);
                graph.Initializer.Add(nb);
                inits[bName] = nb;
                GraphEdits.SetWeightAndBias(conv, wName, bName);

                conv.Output[0] = step.Output[0];
                removed.Add(step);
                folded++;
                changed = true;
                break;
            }
        }
        while (changed);

        if (folded > 0)
        {
            var kept = graph.Node.Where(n => !removed.Contains(n)).ToList();
            graph.Node.Clear();
            graph.Node.AddRange(kept);
            GraphEdits.RemoveUnusedInitializers(graph);
        }

        return folded;
    }

    /// <summary>A float constant that broadcasts over axis 1 of an NCHW tensor only: one value, or shape [M,1,1] / [1,M,1,1].</summary>
    private static bool TryChannelConstant(Dictionary<string, TensorProto> inits, string name, int m, out float[] perChannel)
    {
        perChannel = [];
        if (!inits.TryGetValue(name, out var t) || t.DataType != OnnxDataType.Float)
        {
            return false;
        }

        var dims = t.Dims.ToArray();
        var values = TensorProtos.ReadFloats(t);
        if (values.Length == 1 && dims.Length <= 4)
        {
            perChannel = Enumerable.Repeat(values[0], m).ToArray();
            return true;
        }

        var channelShaped = values.Length == m && ((dims is [var a, 1, 1] && a == m) || (dims is [1, var b, 1, 1] && b == m));
        if (!channelShaped)
        {
            return false;
        }

        perChannel = values;
        return true;
    }
}
