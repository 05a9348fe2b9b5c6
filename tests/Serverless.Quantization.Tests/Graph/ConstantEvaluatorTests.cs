using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Tests.Graph;

public class ConstantEvaluatorTests
{
    // m = [[0,1,2,3],[4,5,6,7],[8,9,10,11]] as FLOAT [3,4].
    private static GraphProto Outer()
    {
        var g = new GraphProto { Name = "outer" };
        g.Initializer.Add(TensorProtos.Float("m", [3, 4], Enumerable.Range(0, 12).Select(i => (float)i).ToArray()));
        g.Input.Add(TinyModels.Value("x", OnnxDataType.Float, 3, 4));
        return g;
    }

    private static (ConstantTensor Value, int Depth)? Evaluate(GraphProto inner, string name)
    {
        var ok = new ConstantEvaluator().TryEvaluate([Outer(), inner], name, out var value, out var depth);
        return ok ? (value, depth) : null;
    }

    private static GraphProto Inner(params NodeProto[] nodes)
    {
        var g = new GraphProto { Name = "inner" };
        g.Node.AddRange(nodes);
        return g;
    }

    private static void Ints(GraphProto g, string name, params long[] values) => g.Initializer.Add(TensorProtos.Int64(name, [values.Length], values));

    [Fact]
    public void Slice_WithNegativeStep_AndAxes_ReadsTheOuterWeight()
    {
        var g = Inner(GraphEdits.Node("Slice", "s", ["m", "starts", "ends", "axes", "steps"], ["y"]));
        Ints(g, "starts", -1, 1);
        Ints(g, "ends", -100, 3);
        Ints(g, "axes", 0, 1);
        Ints(g, "steps", -2, 1);

        var (value, depth) = Evaluate(g, "y")!.Value;

        Assert.Equal([2L, 2], value.Dims);
        Assert.Equal([9f, 10f, 1f, 2f], value.Floats());
        Assert.Equal(0, depth); // the largest root is the outer weight, not the inner index constants
    }

    [Fact]
    public void ConcatOnAxis1_ThenUnsqueezeWithNegativeAxis_ThenTranspose()
    {
        var concat = GraphEdits.Node("Concat", "c", ["m", "m"], ["cat"]);
        concat.Attribute.Add(GraphEdits.IntAttr("axis", 1));
        var transpose = GraphEdits.Node("Transpose", "t", ["u"], ["y"]);
        transpose.Attribute.Add(GraphEdits.IntsAttr("perm", [1, 2, 0]));
        var g = Inner(concat, GraphEdits.Node("Unsqueeze", "u", ["cat", "axis"], ["u"]), transpose);
        Ints(g, "axis", -3);

        var (value, _) = Evaluate(g, "y")!.Value;

        // cat[3,8] -> u[1,3,8] -> y[3,8,1]; y[r, c, 0] = cat[r, c].
        Assert.Equal([3L, 8, 1], value.Dims);
        Assert.Equal([0f, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 8, 9, 10, 11, 8, 9, 10, 11], value.Floats());
    }

    [Fact]
    public void ReshapeWithZeroAndMinusOne_AndSqueeze()
    {
        var g = Inner(GraphEdits.Node("Reshape", "r", ["m", "shape"], ["r"]), GraphEdits.Node("Squeeze", "s", ["r", "axes"], ["y"]));
        Ints(g, "shape", 0, -1, 1);
        Ints(g, "axes", 2);

        var (value, _) = Evaluate(g, "y")!.Value;

        Assert.Equal([3L, 4], value.Dims);
        Assert.Equal(12, value.Floats().Length);
    }

    [Fact]
    public void GraphInputsNonShapeOpsAndBadAxes_AreNotConstant()
    {
        var g = Inner(
            GraphEdits.Node("Identity", "a", ["x"], ["from_input"]),
            GraphEdits.Node("Relu", "b", ["m"], ["from_relu"]),
            GraphEdits.Node("Squeeze", "c", ["m", "bad_axes"], ["bad_squeeze"]),
            GraphEdits.Node("Identity", "d", ["missing"], ["from_nothing"]));
        Ints(g, "bad_axes", 0);

        Assert.Null(Evaluate(g, "from_input"));
        Assert.Null(Evaluate(g, "from_relu"));
        Assert.Null(Evaluate(g, "bad_squeeze")); // dimension 0 is 3, not 1
        Assert.Null(Evaluate(g, "from_nothing"));
    }

    [Fact]
    public void InnerNameShadowsOuterInitializer()
    {
        var g = Inner();
        g.Initializer.Add(TensorProtos.Float("m", [1], [42f]));

        var (value, depth) = Evaluate(g, "m")!.Value;

        Assert.Equal([42f], value.Floats());
        Assert.Equal(1, depth);
    }
}
