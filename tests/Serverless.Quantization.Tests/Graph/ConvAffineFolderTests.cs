using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Tests.Graph;

public class ConvAffineFolderTests
{
    /// <summary>x[1,3,8,8] -> Conv(4 filters, 3x3, pad 1, bias) -> Mul(scale) -> Add(shift) -> Relu -> y.</summary>
    private static ModelProto ConvScaleShift(long[] scaleDims, float[] scale, long[] shiftDims, float[] shift, bool bias = true)
    {
        var rng = new Random(3);
        var g = new GraphProto { Name = "affine" };
        g.Input.Add(TinyModels.Value("x", OnnxDataType.Float, -1, 3, 8, 8));
        g.Output.Add(TinyModels.Value("y", OnnxDataType.Float, -1, 4, 8, 8));
        g.Initializer.Add(TensorProtos.Float("w", [4, 3, 3, 3], Enumerable.Range(0, 108).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray()));
        g.Initializer.Add(TensorProtos.Float("b", [4], [0.1f, -0.2f, 0.3f, 0f]));
        g.Initializer.Add(TensorProtos.Float("scale", scaleDims, scale));
        g.Initializer.Add(TensorProtos.Float("shift", shiftDims, shift));
        var conv = GraphEdits.Node("Conv", "conv", bias ? ["x", "w", "b"] : ["x", "w"], ["c"]);
        conv.Attribute.Add(GraphEdits.IntsAttr("pads", [1, 1, 1, 1]));
        g.Node.Add(conv);
        g.Node.Add(GraphEdits.Node("Mul", "scale_mul", ["scale", "c"], ["m"]));
        g.Node.Add(GraphEdits.Node("Add", "shift_add", ["m", "shift"], ["a"]));
        g.Node.Add(GraphEdits.Node("Relu", "relu", ["a"], ["y"]));
        var model = new ModelProto { IrVersion = 8, Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fold_PerChannelMulThenAdd_RemovesBothAndKeepsTheOutputs(bool bias)
    {
        var model = ConvScaleShift([1, 4, 1, 1], [0.5f, 2f, -1f, 1.5f], [4, 1, 1], [0.25f, 0f, -0.5f, 1f], bias);
        var folded = model.Clone();

        var count = ConvAffineFolder.Fold(folded.Graph);

        Assert.Equal(2, count);
        Assert.Equal(["Conv", "Relu"], folded.Graph.Node.Select(n => n.OpType));
        Assert.Equal("a", folded.Graph.Node[0].Output[0]);
        var sample = TinyModels.Samples(1, 5)[0];
        var expected = TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0];
        var actual = TinyModels.Run(OnnxModelFile.Serialize(folded), sample)[0];
        Assert.True(TinyModels.MaxAbsDiff(expected, actual) < 1e-5f, $"max diff {TinyModels.MaxAbsDiff(expected, actual)}");
    }

    [Fact]
    public void Fold_ScalarMul_AppliesToEveryChannel()
    {
        var model = ConvScaleShift([], [3f], [1, 4, 1, 1], [1f, 2f, 3f, 4f]);
        var folded = model.Clone();

        Assert.Equal(2, ConvAffineFolder.Fold(folded.Graph));
        var sample = TinyModels.Samples(1, 6)[0];
        Assert.True(TinyModels.MaxAbsDiff(TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0], TinyModels.Run(OnnxModelFile.Serialize(folded), sample)[0]) < 1e-5f);
    }

    [Fact]
    public void Fold_ConstantThatVariesAlongWidth_IsLeftAlone()
    {
        // Shape [8] broadcasts over the last axis (W), not over channels: folding it into the Conv would be wrong.
        var model = ConvScaleShift([8], [1, 2, 3, 4, 5, 6, 7, 8], [8], [0, 0, 0, 0, 0, 0, 0, 1]);

        Assert.Equal(0, ConvAffineFolder.Fold(model.Graph));
        Assert.Equal(4, model.Graph.Node.Count);
    }

    [Fact]
    public void Fold_ConvOutputReadTwice_IsLeftAlone()
    {
        var model = ConvScaleShift([1, 4, 1, 1], [1f, 1f, 1f, 1f], [4, 1, 1], [0f, 0f, 0f, 0f]);
        model.Graph.Node.Add(GraphEdits.Node("Identity", "tap", ["c"], ["c2"]));
        model.Graph.Output.Add(TinyModels.Value("c2", OnnxDataType.Float, -1, 4, 8, 8));

        Assert.Equal(0, ConvAffineFolder.Fold(model.Graph));
    }
}
