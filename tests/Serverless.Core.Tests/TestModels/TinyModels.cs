using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.TestModels;

/// <summary>One dimension of a model input/output: a fixed size or a named (symbolic, dynamic) one.</summary>
internal readonly record struct Dim(long Value, string? Param)
{
    public static implicit operator Dim(long value) => new(value, null);

    public static implicit operator Dim(string param) => new(0, param);
}

/// <summary>
/// Tiny ONNX models written byte by byte (field numbers from onnx.proto): ModelProto{ir_version=1, graph=7,
/// opset_import=8{domain=1, version=2}}, GraphProto{node=1, name=2, input=11, output=12},
/// NodeProto{input=1, output=2, name=3, op_type=4}, ValueInfoProto{name=1, type=2},
/// TypeProto{tensor_type=1{elem_type=1, shape=2{dim=1{dim_value=1 | dim_param=2}}}}.
/// </summary>
internal static class TinyModels
{
    private const int Opset = 13;

    /// <summary>y = Identity(x) for one element type; x and y have the given shape.</summary>
    public static byte[] Identity(TensorElementType type, params Dim[] shape) =>
        Model("identity", [Node("Identity", ["x"], ["y"])], [Value("x", type, shape)], [Value("y", type, shape)]);

    /// <summary>sum = a + b and difference = a - b, FP32 [batch, 3] with a symbolic batch dimension.</summary>
    public static byte[] AddSub() =>
        Model("add_sub",
            [Node("Add", ["a", "b"], ["sum"]), Node("Sub", ["a", "b"], ["difference"])],
            [Value("a", TensorElementType.Float, "batch", 3), Value("b", TensorElementType.Float, "batch", 3)],
            [Value("sum", TensorElementType.Float, "batch", 3), Value("difference", TensorElementType.Float, "batch", 3)]);

    /// <summary>y = x·x·x·… (<paramref name="count"/> MatMuls of an FP32 [n, n] matrix): slow enough to cancel.</summary>
    public static byte[] MatMulChain(int n, int count)
    {
        var nodes = new List<Action<ProtoWriter>>();
        var previous = "x";
        for (var i = 0; i < count; i++)
        {
            var output = i == count - 1 ? "y" : $"m{i}";
            nodes.Add(Node("MatMul", [previous, "x"], [output]));
            previous = output;
        }

        return Model("matmul_chain", nodes, [Value("x", TensorElementType.Float, n, n)], [Value("y", TensorElementType.Float, n, n)]);
    }

    /// <summary>A well-formed model whose one node is an operator no ONNX domain defines, which ONNX Runtime refuses to load.</summary>
    public static byte[] UnknownOperator() =>
        Model("unknown_operator", [Node("NoSuchOperator", ["x"], ["y"])], [Value("x", TensorElementType.Float, 1)], [Value("y", TensorElementType.Float, 1)]);

    /// <summary>Bytes that are not an ONNX model.</summary>
    public static byte[] Broken() => "this is not an onnx model, just text"u8.ToArray();

    private static byte[] Model(string name, IEnumerable<Action<ProtoWriter>> nodes, Action<ProtoWriter>[] inputs, Action<ProtoWriter>[] outputs) =>
        new ProtoWriter()
            .Int(1, 8)
            .Message(8, op => op.String(1, string.Empty).Int(2, Opset))
            .Message(7, graph =>
            {
                foreach (var node in nodes)
                {
                    graph.Message(1, node);
                }

                graph.String(2, name);
                foreach (var input in inputs)
                {
                    graph.Message(11, input);
                }

                foreach (var output in outputs)
                {
                    graph.Message(12, output);
                }
            })
            .ToArray();

    private static Action<ProtoWriter> Node(string opType, string[] inputs, string[] outputs) => node =>
    {
        foreach (var input in inputs)
        {
            node.String(1, input);
        }

        foreach (var output in outputs)
        {
            node.String(2, output);
        }

        node.String(3, opType + "_" + outputs[0]).String(4, opType);
    };

    private static Action<ProtoWriter> Value(string name, TensorElementType type, params Dim[] shape) => info =>
        info.String(1, name).Message(2, t => t.Message(1, tensor => tensor
            .Int(1, (int)type)
            .Message(2, s =>
            {
                foreach (var dim in shape)
                {
                    s.Message(1, d =>
                    {
                        if (dim.Param is null)
                        {
                            d.Int(1, dim.Value);
                        }
                        else
                        {
                            d.String(2, dim.Param);
                        }
                    });
                }
            })));
}
