using System.Buffers.Binary;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Graph;

/// <summary>A constant tensor as little-endian bytes (the layout of TensorProto.raw_data).</summary>
public sealed record ConstantTensor(int DataType, long[] Dims, byte[] Bytes)
{
    public long Count => Dims.Aggregate(1L, (a, d) => a * d);

    public float[] Floats()
    {
        var values = new float[Bytes.Length / 4];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(Bytes.AsSpan(i * 4, 4));
        }

        return values;
    }

    public long[] Int64s()
    {
        if (DataType == OnnxDataType.Int32)
        {
            return Enumerable.Range(0, Bytes.Length / 4).Select(i => (long)BinaryPrimitives.ReadInt32LittleEndian(Bytes.AsSpan(i * 4, 4))).ToArray();
        }

        var values = new long[Bytes.Length / 8];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt64LittleEndian(Bytes.AsSpan(i * 8, 8));
        }

        return values;
    }
}

/// <summary>
/// Evaluates the constant sub-expressions that exporters put between a weight and the node that reads it
/// (PyTorch's LSTM export slices, reorders and unsqueezes weight_ih/weight_hh with Slice, Concat and
/// Unsqueeze). Names resolve through a stack of scopes, innermost last, as in ONNX subgraphs: an
/// initializer or node output of the innermost graph that defines the name wins. Only shape-moving ops
/// are evaluated (Identity, Unsqueeze, Squeeze, Reshape, Concat, Slice, Transpose); anything else, or a
/// graph input, makes the value non-constant. Lookups are cached: use a new instance after editing the graphs.
/// </summary>
public sealed class ConstantEvaluator
{
    private static readonly HashSet<string> Evaluated = new(StringComparer.Ordinal) { "Identity", "Unsqueeze", "Squeeze", "Reshape", "Concat", "Slice", "Transpose" };

    private readonly Dictionary<GraphProto, (Dictionary<string, TensorProto> Inits, Dictionary<string, NodeProto> Producers, HashSet<string> Inputs)> _maps = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// The value of <paramref name="name"/> seen from the innermost graph of <paramref name="scopes"/>, and the
    /// index of the scope that holds its largest constant root (for a weight built by Slice/Concat, the graph
    /// of the weight itself rather than of the small index constants): a rewriter that stores the evaluated
    /// value there lets every node built from the same weight share one copy.
    /// </summary>
    public bool TryEvaluate(IReadOnlyList<GraphProto> scopes, string name, out ConstantTensor value, out int depth) =>
        TryEvaluate(scopes, name, out value, out depth, out _);

    private bool TryEvaluate(IReadOnlyList<GraphProto> scopes, string name, out ConstantTensor value, out int depth, out long rootBytes)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(name);
        value = null!;
        depth = -1;
        rootBytes = 0;
        for (var d = scopes.Count - 1; d >= 0; d--)
        {
            var (inits, producers, inputs) = Maps(scopes[d]);
            if (inits.TryGetValue(name, out var init))
            {
                if (FromProto(init) is not { } t)
                {
                    return false;
                }

                value = t;
                depth = d;
                rootBytes = t.Bytes.Length;
                return true;
            }

            if (producers.TryGetValue(name, out var node))
            {
                return TryNode(scopes, d, node, name, out value, out depth, out rootBytes);
            }

            if (inputs.Contains(name))
            {
                return false;
            }
        }

        return false;
    }

    private bool TryNode(IReadOnlyList<GraphProto> scopes, int d, NodeProto node, string name, out ConstantTensor value, out int depth, out long rootBytes)
    {
        value = null!;
        depth = -1;
        rootBytes = 0;
        if (node.Domain.Length != 0 || !Evaluated.Contains(node.OpType) || node.Output.Count != 1 || node.Output[0] != name)
        {
            return false;
        }

        // A node of scope d sees scopes 0..d only.
        var visible = scopes.Take(d + 1).ToList();
        var inputs = new List<ConstantTensor?>();
        var rootDepth = d;
        long largest = -1;
        foreach (var input in node.Input)
        {
            if (input.Length == 0)
            {
                inputs.Add(null);
                continue;
            }

            if (!TryEvaluate(visible, input, out var t, out var inputDepth, out var inputBytes))
            {
                return false;
            }

            inputs.Add(t);
            if (inputBytes > largest)
            {
                (largest, rootDepth) = (inputBytes, inputDepth);
            }
        }

        if (inputs.Count == 0 || inputs[0] is null)
        {
            return false;
        }

        var result = node.OpType switch
        {
            "Identity" => inputs[0],
            "Unsqueeze" => Unsqueeze(inputs[0]!, Axes(node, inputs)),
            "Squeeze" => Squeeze(inputs[0]!, Axes(node, inputs)),
            "Reshape" => inputs.Count > 1 && inputs[1] is { } shape ? Reshape(inputs[0]!, shape.Int64s()) : null,
            "Concat" => inputs.All(i => i is not null) ? Concat([.. inputs.Select(i => i!)], GraphEdits.IntAttribute(node, "axis", 0)) : null,
            "Slice" => Slice(node, inputs),
            "Transpose" => Transpose(inputs[0]!, GraphEdits.Attribute(node, "perm")?.Ints.ToArray()),
            _ => null,
        };
        if (result is null)
        {
            return false;
        }

        value = result;
        depth = rootDepth;
        rootBytes = largest;
        return true;
    }

    private (Dictionary<string, TensorProto>, Dictionary<string, NodeProto>, HashSet<string>) Maps(GraphProto graph)
    {
        if (!_maps.TryGetValue(graph, out var maps))
        {
            maps = (GraphEdits.Initializers(graph), GraphEdits.Producers(graph), graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal));
            _maps[graph] = maps;
        }

        return maps;
    }

    public static ConstantTensor? FromProto(TensorProto t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            return null;
        }

        var dims = t.Dims.ToArray();
        if (t.HasRawData)
        {
            return new ConstantTensor(t.DataType, dims, t.RawData.ToByteArray());
        }

        switch (t.DataType)
        {
            case OnnxDataType.Float:
                return new ConstantTensor(t.DataType, dims, TensorProtos.Float(t.Name, dims, TensorProtos.ReadFloats(t)).RawData.ToByteArray());
            case OnnxDataType.Int64:
                return new ConstantTensor(t.DataType, dims, TensorProtos.Int64(t.Name, dims, TensorProtos.ReadInt64s(t)).RawData.ToByteArray());
            case OnnxDataType.Int32:
                return new ConstantTensor(t.DataType, dims, TensorProtos.Int32(t.Name, dims, t.Int32Data.ToArray()).RawData.ToByteArray());
            default:
                return null;
        }
    }

    private static int ElementSize(int type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 => 4,
        OnnxDataType.Int64 or OnnxDataType.Double => 8,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or 9 => 1,
        OnnxDataType.Float16 => 2,
        _ => 0,
    };

    private static long[]? Axes(NodeProto node, List<ConstantTensor?> inputs) =>
        inputs.Count > 1 && inputs[1] is { } axes ? axes.Int64s() : GraphEdits.Attribute(node, "axes")?.Ints.ToArray();

    private static ConstantTensor? Unsqueeze(ConstantTensor x, long[]? axes)
    {
        if (axes is null)
        {
            return null;
        }

        var rank = x.Dims.Length + axes.Length;
        var normalized = axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        if (normalized.Count != axes.Length || normalized.Any(a => a < 0 || a >= rank))
        {
            return null;
        }

        var dims = new long[rank];
        var k = 0;
        for (var i = 0; i < rank; i++)
        {
            dims[i] = normalized.Contains(i) ? 1 : x.Dims[k++];
        }

        return x with { Dims = dims };
    }

    private static ConstantTensor? Squeeze(ConstantTensor x, long[]? axes)
    {
        var rank = x.Dims.Length;
        var drop = axes is null
            ? Enumerable.Range(0, rank).Where(i => x.Dims[i] == 1).Select(i => (long)i).ToHashSet()
            : axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        if (drop.Any(a => a < 0 || a >= rank || x.Dims[a] != 1))
        {
            return null;
        }

        return x with { Dims = [.. Enumerable.Range(0, rank).Where(i => !drop.Contains(i)).Select(i => x.Dims[i])] };
    }

    private static ConstantTensor? Reshape(ConstantTensor x, long[] shape)
    {
        var dims = new long[shape.Length];
        var unknown = -1;
        long known = 1;
        for (var i = 0; i < shape.Length; i++)
        {
            dims[i] = shape[i] == 0 && i < x.Dims.Length ? x.Dims[i] : shape[i];
            if (dims[i] == -1)
            {
                if (unknown >= 0)
                {
                    return null;
                }

                unknown = i;
            }
            else
            {
                known *= dims[i];
            }
        }

        if (unknown >= 0)
        {
            if (known == 0 || x.Count % known != 0)
            {
                return null;
            }

            dims[unknown] = x.Count / known;
        }

        return dims.Aggregate(1L, (a, d) => a * d) == x.Count ? x with { Dims = dims } : null;
    }

    private static ConstantTensor? Concat(List<ConstantTensor> parts, long axis)
    {
        var first = parts[0];
        var rank = first.Dims.Length;
        var size = ElementSize(first.DataType);
        axis = axis < 0 ? axis + rank : axis;
        if (size == 0 || axis < 0 || axis >= rank || parts.Any(p => p.DataType != first.DataType || p.Dims.Length != rank
                || Enumerable.Range(0, rank).Any(i => i != axis && p.Dims[i] != first.Dims[i])))
        {
            return null;
        }

        long outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= first.Dims[i];
        }

        var dims = (long[])first.Dims.Clone();
        dims[axis] = parts.Sum(p => p.Dims[axis]);
        var bytes = new byte[parts.Sum(p => p.Bytes.Length)];
        var offset = 0;
        for (long o = 0; o < outer; o++)
        {
            foreach (var p in parts)
            {
                var block = (int)(p.Bytes.Length / Math.Max(outer, 1));
                Buffer.BlockCopy(p.Bytes, (int)(o * block), bytes, offset, block);
                offset += block;
            }
        }

        return new ConstantTensor(first.DataType, dims, bytes);
    }

    private static ConstantTensor? Slice(NodeProto node, List<ConstantTensor?> inputs)
    {
        var x = inputs[0]!;
        var rank = x.Dims.Length;
        var size = ElementSize(x.DataType);
        long[]? starts, ends, axes, steps;
        if (inputs.Count >= 3)
        {
            starts = inputs[1]?.Int64s();
            ends = inputs[2]?.Int64s();
            axes = inputs.Count > 3 ? inputs[3]?.Int64s() : null;
            steps = inputs.Count > 4 ? inputs[4]?.Int64s() : null;
        }
        else
        {
            starts = GraphEdits.Attribute(node, "starts")?.Ints.ToArray();
            ends = GraphEdits.Attribute(node, "ends")?.Ints.ToArray();
            axes = GraphEdits.Attribute(node, "axes")?.Ints.ToArray();
            steps = null;
        }

        if (size == 0 || starts is null || ends is null || starts.Length != ends.Length)
        {
            return null;
        }

        axes ??= [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        steps ??= [.. Enumerable.Repeat(1L, starts.Length)];
        if (axes.Length != starts.Length || steps.Length != starts.Length)
        {
            return null;
        }

        var begin = new long[rank];
        var step = Enumerable.Repeat(1L, rank).ToArray();
        var dims = (long[])x.Dims.Clone();
        for (var i = 0; i < starts.Length; i++)
        {
            var a = axes[i] < 0 ? axes[i] + rank : axes[i];
            if (a < 0 || a >= rank || steps[i] == 0)
            {
                return null;
            }

            var n = x.Dims[a];
            var s = starts[i] < 0 ? starts[i] + n : starts[i];
            var e = ends[i] < 0 ? ends[i] + n : ends[i];
            if (steps[i] > 0)
            {
                s = Math.Clamp(s, 0, n);
                e = Math.Clamp(e, 0, n);
                dims[a] = Math.Max(0, (e - s + steps[i] - 1) / steps[i]);
            }
            else
            {
                s = Math.Clamp(s, 0, n - 1);
                e = Math.Clamp(e, -1, n - 1);
                dims[a] = Math.Max(0, (s - e + (-steps[i]) - 1) / -steps[i]);
            }

            begin[a] = s;
            step[a] = steps[i];
        }

        var strides = Strides(x.Dims);
        var origin = 0L;
        var sourceStrides = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            origin += begin[i] * strides[i];
            sourceStrides[i] = step[i] * strides[i];
        }

        return Gather(x, size, dims, origin, sourceStrides);
    }

    private static ConstantTensor? Transpose(ConstantTensor x, long[]? perm)
    {
        var rank = x.Dims.Length;
        var size = ElementSize(x.DataType);
        perm ??= [.. Enumerable.Range(0, rank).Reverse().Select(i => (long)i)];
        if (size == 0 || perm.Length != rank || perm.Distinct().Count() != rank || perm.Any(p => p < 0 || p >= rank))
        {
            return null;
        }

        var dims = perm.Select(p => x.Dims[p]).ToArray();
        var strides = Strides(x.Dims);
        return Gather(x, size, dims, 0, [.. perm.Select(p => strides[p])]);
    }

    /// <summary>
    /// Copies the elements of a strided view of <paramref name="x"/> into a new dense tensor of shape
    /// <paramref name="dims"/>: element (i0..in) comes from source element origin + sum(ik * sourceStrides[k]).
    /// Slice (origin = the begins, strides scaled by the steps) and Transpose (permuted strides) are both this.
    /// </summary>
    private static ConstantTensor Gather(ConstantTensor x, int size, long[] dims, long origin, long[] sourceStrides)
    {
        var rank = dims.Length;
        var count = dims.Aggregate(1L, (p, d) => p * d);
        var bytes = new byte[count * size];
        var index = new long[rank];
        for (long k = 0; k < count; k++)
        {
            var source = origin;
            for (var i = 0; i < rank; i++)
            {
                source += index[i] * sourceStrides[i];
            }

            Buffer.BlockCopy(x.Bytes, (int)(source * size), bytes, (int)(k * size), size);
            for (var i = rank - 1; i >= 0; i--)
            {
                if (++index[i] < dims[i])
                {
                    break;
                }

                index[i] = 0;
            }
        }

        return new ConstantTensor(x.DataType, dims, bytes);
    }

    private static long[] Strides(long[] dims)
    {
        var strides = new long[dims.Length];
        long s = 1;
        for (var i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= dims[i];
        }

        return strides;
    }
}
