using Serverless.Core.Errors;
using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Tests.Graph;

public class OpsetUpgraderTests
{
    /// <summary>x[1,4,6] -> Clip(attrs, opset 9) -> Slice(attrs) -> Unsqueeze(attrs) -> Softmax(axis) -> y.</summary>
    private static ModelProto Opset9Model(long softmaxAxis)
    {
        var g = new GraphProto { Name = "old" };
        g.Input.Add(TinyModels.Value("x", OnnxDataType.Float, 1, 4, 6));
        g.Output.Add(TinyModels.Value("y", OnnxDataType.Float, 1, 1, 2, 6));
        var clip = GraphEdits.Node("Clip", "clip", ["x"], ["c"]);
        clip.Attribute.Add(new AttributeProto { Name = "min", Type = AttributeProto.Types.AttributeType.Float, F = -0.5f });
        clip.Attribute.Add(new AttributeProto { Name = "max", Type = AttributeProto.Types.AttributeType.Float, F = 0.5f });
        var slice = GraphEdits.Node("Slice", "slice", ["c"], ["s"]);
        slice.Attribute.Add(GraphEdits.IntsAttr("starts", [1]));
        slice.Attribute.Add(GraphEdits.IntsAttr("ends", [3]));
        slice.Attribute.Add(GraphEdits.IntsAttr("axes", [1]));
        var unsqueeze = GraphEdits.Node("Unsqueeze", "unsq", ["s"], ["u"]);
        unsqueeze.Attribute.Add(GraphEdits.IntsAttr("axes", [0]));
        var softmax = GraphEdits.Node("Softmax", "softmax", ["u"], ["y"]);
        softmax.Attribute.Add(GraphEdits.IntAttr("axis", softmaxAxis));
        g.Node.AddRange([clip, slice, unsqueeze, softmax]);
        var model = new ModelProto { IrVersion = 4, Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 9 });
        return model;
    }

    [Fact]
    public void Upgrade_From9To13_RewritesAttributeInputsAndKeepsTheOutputs()
    {
        var model = Opset9Model(softmaxAxis: 3);
        var sample = new Serverless.Quantization.Calibration.CalibrationSample("s", [new Serverless.Quantization.Calibration.SampleTensor("x", [1, 4, 6], Enumerable.Range(0, 24).Select(i => (i - 12) / 10f).ToArray())]);
        var before = TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0];

        OpsetUpgrader.Upgrade(model, 13, rankOf: name => name == "u" ? 4 : null);
        var after = TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0];

        Assert.Equal(13, OpsetUpgrader.DefaultDomainVersion(model));
        Assert.Equal(7, model.IrVersion);
        Assert.Equal(3, model.Graph.Node[0].Input.Count); // Clip: x, min, max
        Assert.Empty(model.Graph.Node[1].Attribute); // Slice attributes became inputs
        Assert.Equal(2, model.Graph.Node[2].Input.Count); // Unsqueeze axes input
        Assert.Equal(before, after);
    }

    [Fact]
    public void Upgrade_WithSoftmaxNotOnTheLastAxis_IsRefusedAndLeavesTheModelUntouched()
    {
        var model = Opset9Model(softmaxAxis: 2);
        var copy = model.Clone();

        var e = Assert.Throws<InferenceException>(() => OpsetUpgrader.Upgrade(model, 13, name => name == "u" ? 4 : null, "old-model"));

        Assert.Equal(ErrorCode.InvalidInput, e.Code);
        Assert.Contains("'softmax'", e.Message);
        Assert.Contains("old-model", e.Message);
        Assert.Equal(copy, model);
    }

    [Fact]
    public void Upgrade_WithSoftmaxOfUnknownRank_IsRefused()
    {
        var e = Assert.Throws<InferenceException>(() => OpsetUpgrader.Upgrade(Opset9Model(3), 13));

        Assert.Contains("rank unknown", e.Message);
    }

    [Fact]
    public void Upgrade_To11_DoesNotNeedSoftmaxRanks()
    {
        var model = Opset9Model(3);

        OpsetUpgrader.Upgrade(model, 11);

        Assert.Equal(11, OpsetUpgrader.DefaultDomainVersion(model));
        Assert.Single(model.Graph.Node[2].Attribute); // Unsqueeze keeps its attribute below 13
    }

    [Fact]
    public void Upgrade_WithAnOpWhoseMeaningChanged_IsRefusedNamingIt()
    {
        var model = Opset9Model(3);
        model.Graph.Node.Add(GraphEdits.Node("Upsample", "up", ["y", "scales"], ["z"]));

        var e = Assert.Throws<InferenceException>(() => OpsetUpgrader.Upgrade(model, 13, _ => 4));

        Assert.Contains("'up' is Upsample", e.Message);
        Assert.Equal(9, OpsetUpgrader.DefaultDomainVersion(model));
    }

    /// <summary>Opset-11 x -> If(cond) whose then branch runs <paramref name="branchOp"/> on x (outer scope) and else branch Identity.</summary>
    private static ModelProto Opset11If(string branchOp)
    {
        var then = new GraphProto { Name = "then" };
        var op = GraphEdits.Node(branchOp, "branch_op", ["x"], ["t"]);
        if (branchOp == "Unsqueeze")
        {
            op.Attribute.Add(GraphEdits.IntsAttr("axes", [0]));
        }

        then.Node.Add(op);
        then.Output.Add(new ValueInfoProto { Name = "t" });
        var otherwise = new GraphProto { Name = "else" };
        otherwise.Node.Add(GraphEdits.Node("Identity", "branch_id", ["x"], ["e"]));
        otherwise.Output.Add(new ValueInfoProto { Name = "e" });
        var g = new GraphProto { Name = "old_if" };
        g.Input.Add(TinyModels.Value("x", OnnxDataType.Float, 2, 3));
        g.Input.Add(TinyModels.Value("cond", 9));
        g.Output.Add(new ValueInfoProto { Name = "y" });
        var iff = GraphEdits.Node("If", "the_if", ["cond"], ["y"]);
        iff.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = then });
        iff.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = otherwise });
        g.Node.Add(iff);
        var model = new ModelProto { IrVersion = 6, Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 11 });
        return model;
    }

    [Fact]
    public void Upgrade_IfBranchWithAnOpThatNeedsRewriting_IsRefusedNamingItAndLeftUntouched()
    {
        var model = Opset11If("Unsqueeze");
        var before = model.Clone();

        var e = Assert.Throws<InferenceException>(() => OpsetUpgrader.Upgrade(model, 13, modelName: "branchy"));

        Assert.Equal(ErrorCode.InvalidInput, e.Code);
        Assert.Contains("'branch_op' (Unsqueeze) inside a subgraph of 'the_if'", e.Message);
        Assert.Equal(before, model);
    }

    [Fact]
    public void Upgrade_IfBranchWithUnchangedOps_IsUpgraded()
    {
        var model = Opset11If("Relu");

        OpsetUpgrader.Upgrade(model, 13, modelName: "branchy");

        Assert.Equal(13, OpsetUpgrader.DefaultDomainVersion(model));
    }
}
