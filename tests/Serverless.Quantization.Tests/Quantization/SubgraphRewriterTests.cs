using Serverless.Quantization.Calibration;
using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;
using Serverless.Quantization.Quantization;
using Serverless.Tests.Shared;

namespace Serverless.Quantization.Tests.Quantization;

public class SubgraphRewriterTests
{
    private static readonly Quantizer Dynamic = new(null);
    private static readonly QuantizerOptions DynamicOptions = new() { Mode = QuantizationMode.Dynamic };

    private static float[] Random(Random rng, int n, float scale = 0.5f) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1) * scale).ToArray();

    private static NodeProto Constant(string output, TensorProto value)
    {
        var node = GraphEdits.Node("Constant", output + "_const", [], [output]);
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
        return node;
    }

    private static NodeProto If(string name, string condition, GraphProto then, GraphProto otherwise, params string[] outputs)
    {
        var node = GraphEdits.Node("If", name, [condition], outputs);
        node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = then });
        node.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = otherwise });
        return node;
    }

    private static ModelProto Model(GraphProto graph, int opset = 16)
    {
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    /// <summary>
    /// Like Silero VAD: top-level Relu(x) -> xr and Equal(sel, 1) -> If. Each branch holds a Conv and a MatMul whose
    /// weights are Constant nodes of the branch, and reads xr from the parent graph (outer scope).
    /// </summary>
    private static ModelProto BranchNet()
    {
        var rng = new Random(11);
        GraphProto Branch(string name, int filters, int kernel, string output)
        {
            var g = new GraphProto { Name = name };
            var length = 16 - kernel + 1;
            g.Node.Add(Constant(name + "_cw", TensorProtos.Float(name + "_cw", [filters, 1, kernel], Random(rng, filters * kernel))));
            g.Node.Add(Constant(name + "_cb", TensorProtos.Float(name + "_cb", [filters], Random(rng, filters, 0.1f))));
            g.Node.Add(GraphEdits.Node("Conv", name + "_conv", ["xr", name + "_cw", name + "_cb"], [name + "_c"]));
            g.Node.Add(GraphEdits.Node("Flatten", name + "_flatten", [name + "_c"], [name + "_f"]));
            g.Node.Add(Constant(name + "_mw", TensorProtos.Float(name + "_mw", [filters * length, 3], Random(rng, filters * length * 3, 0.3f))));
            g.Node.Add(GraphEdits.Node("MatMul", name + "_matmul", [name + "_f", name + "_mw"], [output]));
            g.Output.Add(TinyModels.Value(output, OnnxDataType.Float, 1, 3));
            return g;
        }

        var main = new GraphProto { Name = "branches" };
        main.Input.Add(TinyModels.Value("x", OnnxDataType.Float, 1, 1, 16));
        main.Input.Add(TinyModels.Value("sel", OnnxDataType.Int64));
        main.Output.Add(TinyModels.Value("y", OnnxDataType.Float, 1, 3));
        main.Initializer.Add(TensorProtos.Int64("one", [], [1]));
        main.Node.Add(GraphEdits.Node("Relu", "relu", ["x"], ["xr"]));
        main.Node.Add(GraphEdits.Node("Equal", "is_one", ["sel", "one"], ["cond"]));
        main.Node.Add(If("if", "cond", Branch("then", 4, 3, "y_then"), Branch("else", 2, 5, "y_else"), "y"));
        return Model(main);
    }

    private static CalibrationSample BranchSample(long sel, int seed) =>
        new($"sel{sel}", [new SampleTensor("x", [1, 1, 16], Random(new Random(seed), 16, 1f)), new SampleTensor("sel", [], Int64s: [sel])]);

    [Fact]
    public void If_ConvAndMatMulInBothBranches_AreQuantizedAndBothBranchesStayCloseInOrt()
    {
        var model = BranchNet();
        var result = Dynamic.Quantize(model, DynamicOptions, modelName: "branches");
        var path = QuantizerTests.Save(result.Model);
        var optimized = OptimizedGraph.OpCounts(TinyModels.Factory, path);
        var branches = result.Model.Graph.Node.Single(n => n.OpType == "If").Attribute.Select(a => a.G).ToList();

        Assert.Equal(2, result.Summary.QuantizedByOp["Conv"]);
        Assert.Equal(2, result.Summary.QuantizedByOp["MatMul"]);
        Assert.Equal(2, result.Summary.WeightOnly);
        Assert.Empty(result.Summary.Skipped);
        foreach (var g in branches)
        {
            // Every weight is int8 now; the only float initializers left are the per-channel scales and the Conv bias.
            Assert.DoesNotContain(g.Node, n => n.OpType is "Constant" or "MatMul");
            Assert.Equal(2, g.Initializer.Count(t => t.DataType == OnnxDataType.Int8 && t.Dims.Count > 1));
            Assert.DoesNotContain(g.Initializer, t => t.DataType == OnnxDataType.Float && t.Dims.Count > 1 && t.Dims.Aggregate(1L, (a, d) => a * d) > 4);
            Assert.Contains(g.Node, n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == SubgraphRewriter.MicrosoftDomain);
        }

        Assert.Contains(result.Model.OpsetImport, o => o.Domain == SubgraphRewriter.MicrosoftDomain && o.Version == 1);
        // ORT runs the MatMuls as integer kernels inside the branches and folds the Convs' Cast/Mul back to fp32 weights.
        Assert.Equal(2, optimized.GetValueOrDefault("DynamicQuantizeMatMul"));
        Assert.Equal(2, OptimizedGraph.IntegerOpCount(optimized));
        Assert.False(optimized.ContainsKey("Cast"), string.Join(",", optimized.Keys));
        Assert.False(optimized.ContainsKey("Mul"), string.Join(",", optimized.Keys));

        var fp32 = OnnxModelFile.Serialize(model);
        var int8 = File.ReadAllBytes(path);
        foreach (var sel in new long[] { 1, 0 })
        {
            var sample = BranchSample(sel, 5);
            var expected = TinyModels.Run(fp32, sample)[0];
            var actual = TinyModels.Run(int8, sample)[0];
            var tolerance = 0.03f * expected.Max(Math.Abs);
            Assert.True(TinyModels.MaxAbsDiff(expected, actual) < tolerance, $"sel {sel}: max diff {TinyModels.MaxAbsDiff(expected, actual)} (tolerance {tolerance})");
        }

        // The two branches really differ, so the check above covered both.
        Assert.NotEqual(TinyModels.Run(fp32, BranchSample(1, 5))[0], TinyModels.Run(fp32, BranchSample(0, 5))[0]);
    }

    [Fact]
    public void If_WithExcludedOpsInBranches_LeavesThemFp32AndSaysSo()
    {
        var options = DynamicOptions with { ExcludeOps = new HashSet<string> { "MatMul" }, ExcludeNodes = new HashSet<string> { "else_conv" } };

        var result = Dynamic.Quantize(BranchNet(), options, modelName: "branches");
        var branches = result.Model.Graph.Node.Single(n => n.OpType == "If").Attribute.ToDictionary(a => a.Name, a => a.G);

        Assert.Equal(1, result.Summary.QuantizedByOp["Conv"]);
        Assert.False(result.Summary.QuantizedByOp.ContainsKey("MatMul"));
        Assert.Equal(["else_conv", "else_matmul", "then_matmul"], result.Summary.Excluded.Order(StringComparer.Ordinal));
        Assert.Contains(branches["else_branch"].Initializer, t => t.Name == "else_cw" && t.DataType == OnnxDataType.Float);
        Assert.Contains(branches["then_branch"].Initializer, t => t.Name == "then_mw" && t.DataType == OnnxDataType.Float);
        Assert.DoesNotContain(branches["then_branch"].Initializer, t => t.Name == "then_cw");
    }

    [Fact]
    public void If_BranchThatReturnsAConstant_KeepsItAsANodeAndStillRuns()
    {
        var model = BranchNet();
        var then = model.Graph.Node.Single(n => n.OpType == "If").Attribute.Single(a => a.Name == "then_branch").G;
        then.Node.Clear();
        then.Node.Add(Constant("y_then", TensorProtos.Float("fixed", [1, 3], [1f, 2f, 3f])));

        var result = Dynamic.Quantize(model, DynamicOptions, modelName: "branches");
        var quantizedThen = result.Model.Graph.Node.Single(n => n.OpType == "If").Attribute.Single(a => a.Name == "then_branch").G;
        var bytes = OnnxModelFile.Serialize(result.Model);

        Assert.Equal("Constant", quantizedThen.Node.Single().OpType);
        Assert.Empty(quantizedThen.Initializer);
        Assert.Equal([1f, 2f, 3f], TinyModels.Run(bytes, BranchSample(1, 3))[0]);
        Assert.Equal(1, result.Summary.QuantizedByOp["Conv"]); // the else branch is still quantized
        Assert.True(TinyModels.MaxAbsDiff(TinyModels.Run(OnnxModelFile.Serialize(model), BranchSample(0, 3))[0], TinyModels.Run(bytes, BranchSample(0, 3))[0]) < 0.05f);
    }

    /// <summary>
    /// Like Silero VAD's decoder: the branch holds the LSTM weights as Constants; a nested If (on the state) has two
    /// LSTMs that each build W by slicing and re-concatenating the gate rows (PyTorch's export), read the sequence
    /// two scopes up, and must end up sharing one int8 copy of each weight.
    /// </summary>
    private static ModelProto LstmNet()
    {
        const int hidden = 3, input = 4;
        var rng = new Random(5);
        var branch = new GraphProto { Name = "branch" };
        branch.Node.Add(Constant("wih", TensorProtos.Float("wih", [4 * hidden, input], Random(rng, 4 * hidden * input, 0.8f))));
        branch.Node.Add(Constant("whh", TensorProtos.Float("whh", [4 * hidden, hidden], Random(rng, 4 * hidden * hidden, 0.8f))));
        branch.Node.Add(Constant("bias", TensorProtos.Float("bias", [1, 8 * hidden], Random(rng, 8 * hidden, 0.2f))));

        GraphProto Inner(string p)
        {
            var g = new GraphProto { Name = p };
            g.Initializer.Add(TensorProtos.Int64(p + "_zero", [1], [0]));
            g.Initializer.Add(TensorProtos.Int64(p + "_h", [1], [hidden]));
            g.Initializer.Add(TensorProtos.Int64(p + "_end", [1], [4 * hidden]));
            g.Node.Add(GraphEdits.Node("Slice", p + "_slice_a", ["wih", p + "_zero", p + "_h"], [p + "_a"]));
            g.Node.Add(GraphEdits.Node("Slice", p + "_slice_b", ["wih", p + "_h", p + "_end"], [p + "_b"]));
            var concat = GraphEdits.Node("Concat", p + "_concat", [p + "_b", p + "_a"], [p + "_w2"]);
            concat.Attribute.Add(GraphEdits.IntAttr("axis", 0));
            g.Node.Add(concat);
            g.Node.Add(GraphEdits.Node("Unsqueeze", p + "_unsqueeze_w", [p + "_w2", p + "_zero"], [p + "_w"]));
            g.Node.Add(GraphEdits.Node("Unsqueeze", p + "_unsqueeze_r", ["whh", p + "_zero"], [p + "_r"]));
            var lstm = GraphEdits.Node("LSTM", p + "_lstm", ["seq", p + "_w", p + "_r", "bias"], [string.Empty, p + "_y"]);
            lstm.Attribute.Add(GraphEdits.IntAttr("hidden_size", hidden));
            g.Node.Add(lstm);
            g.Output.Add(TinyModels.Value(p + "_y", OnnxDataType.Float, 1, 1, hidden));
            return g;
        }

        branch.Node.Add(If("inner_if", "cond2", Inner("in_then"), Inner("in_else"), "branch_y"));
        branch.Output.Add(TinyModels.Value("branch_y", OnnxDataType.Float, 1, 1, hidden));
        var other = new GraphProto { Name = "other" };
        other.Node.Add(GraphEdits.Node("Identity", "other_id", ["h0"], ["other_y"]));
        other.Output.Add(TinyModels.Value("other_y", OnnxDataType.Float, 1, 1, hidden));

        var main = new GraphProto { Name = "lstm" };
        main.Input.Add(TinyModels.Value("seq", OnnxDataType.Float, 5, 1, input));
        main.Input.Add(TinyModels.Value("sel", OnnxDataType.Int64));
        main.Output.Add(TinyModels.Value("y", OnnxDataType.Float, 1, 1, hidden));
        main.Initializer.Add(TensorProtos.Int64("one", [], [1]));
        main.Initializer.Add(TensorProtos.Float("h0", [1, 1, hidden], new float[hidden]));
        main.Node.Add(GraphEdits.Node("Equal", "is_one", ["sel", "one"], ["cond"]));
        main.Node.Add(GraphEdits.Node("Not", "not_one", ["cond"], ["cond2"]));
        main.Node.Add(If("outer_if", "cond", branch, other, "y"));
        return Model(main);
    }

    [Fact]
    public void If_LstmWithSlicedWeightsInNestedBranches_BecomesDynamicQuantizeLstmSharingOneInt8Copy()
    {
        var model = LstmNet();
        var result = Dynamic.Quantize(model, DynamicOptions, modelName: "lstm");
        var path = QuantizerTests.Save(result.Model);
        var optimized = OptimizedGraph.OpCounts(TinyModels.Factory, path);
        var branch = result.Model.Graph.Node.Single(n => n.OpType == "If").Attribute.Single(a => a.Name == "then_branch").G;
        var inner = branch.Node.Single(n => n.OpType == "If").Attribute.Select(a => a.G).ToList();

        Assert.Equal(2, result.Summary.QuantizedByOp["LSTM"]);
        // One int8 W and one int8 R in the branch that held wih/whh, transposed to [dirs, input, 4*hidden]; the
        // fp32 originals and the Slice/Concat chains that read them are gone.
        var int8 = branch.Initializer.Where(t => t.DataType == OnnxDataType.Int8 && t.Dims.Count == 3).ToList();
        Assert.Equal(2, int8.Count);
        Assert.Contains(int8, t => t.Dims.SequenceEqual([1L, 4, 12]));
        Assert.Contains(int8, t => t.Dims.SequenceEqual([1L, 3, 12]));
        Assert.DoesNotContain(branch.Initializer, t => t.Name is "wih" or "whh");
        foreach (var g in inner)
        {
            var lstm = g.Node.Single(n => n.OpType == "DynamicQuantizeLSTM");
            Assert.Equal(SubgraphRewriter.MicrosoftDomain, lstm.Domain);
            Assert.Equal(12, lstm.Input.Count);
            Assert.Contains(lstm.Input[1], int8.Select(t => t.Name));
            Assert.DoesNotContain(g.Node, n => n.OpType is "Slice" or "Concat" or "Unsqueeze");
            Assert.Empty(g.Initializer);
        }

        Assert.Equal(2, optimized.GetValueOrDefault("DynamicQuantizeLSTM"));
        Assert.False(optimized.ContainsKey("LSTM"));

        var fp32 = OnnxModelFile.Serialize(model);
        var quantized = File.ReadAllBytes(path);
        var seq = Random(new Random(8), 5 * 4, 1f);
        foreach (var sel in new long[] { 1, 0 })
        {
            var sample = new CalibrationSample($"sel{sel}", [new SampleTensor("seq", [5, 1, 4], seq), new SampleTensor("sel", [], Int64s: [sel])]);
            var expected = TinyModels.Run(fp32, sample)[0];
            var actual = TinyModels.Run(quantized, sample)[0];
            Assert.True(TinyModels.MaxAbsDiff(expected, actual) < 0.02f, $"sel {sel}: max diff {TinyModels.MaxAbsDiff(expected, actual)}");
            if (sel == 1)
            {
                Assert.True(expected.Max(Math.Abs) > 0.05f, "the LSTM output is not trivially zero");
            }
        }
    }

    [Fact]
    public void Loop_BodyIsSkippedWithAClearMessageAndStaysFp32()
    {
        var rng = new Random(2);
        var body = new GraphProto { Name = "body" };
        body.Input.Add(TinyModels.Value("i", OnnxDataType.Int64));
        body.Input.Add(TinyModels.Value("c_in", 9));
        body.Input.Add(TinyModels.Value("acc_in", OnnxDataType.Float, 1, 4));
        body.Node.Add(Constant("lw", TensorProtos.Float("lw", [4, 4], Random(rng, 16))));
        body.Node.Add(GraphEdits.Node("MatMul", "loop_matmul", ["acc_in", "lw"], ["acc_out"]));
        body.Node.Add(GraphEdits.Node("Identity", "keep_going", ["c_in"], ["c_out"]));
        body.Output.Add(TinyModels.Value("c_out", 9));
        body.Output.Add(TinyModels.Value("acc_out", OnnxDataType.Float, 1, 4));
        var main = new GraphProto { Name = "loop" };
        main.Input.Add(TinyModels.Value("x", OnnxDataType.Float, 1, 4));
        main.Output.Add(TinyModels.Value("y", OnnxDataType.Float, 1, 4));
        main.Initializer.Add(TensorProtos.Int64("trips", [], [3]));
        var loop = GraphEdits.Node("Loop", "loop", ["trips", string.Empty, "x"], ["y"]);
        loop.Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = body });
        main.Node.Add(loop);
        var model = Model(main);

        var result = Dynamic.Quantize(model, DynamicOptions, modelName: "loop");
        var quantizedBody = result.Model.Graph.Node.Single().Attribute.Single().G;

        Assert.Equal(0, result.Summary.Total);
        Assert.Contains("Loop 'loop': its body is not rewritten (only If branches are quantized)", result.Summary.Skipped);
        Assert.Contains("Loop 'loop'", result.Summary.ToString());
        Assert.Contains(quantizedBody.Node, n => n.OpType == "MatMul");
        Assert.Equal(body, quantizedBody);
        var sample = new CalibrationSample("x", [new SampleTensor("x", [1, 4], [1f, -0.5f, 0.25f, 2f])]);
        Assert.Equal(TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0], TinyModels.Run(OnnxModelFile.Serialize(result.Model), sample)[0]);
    }

    [Fact]
    public void VoiceActivity_RealModel_IsUnderAThirdOfFp32AndAgreesAtBothSampleRates()
    {
        var fp32Path = RepoPaths.ModelFile("voice-activity");
        var source = OnnxModelFile.Load(fp32Path);
        // The recipe's static mode: the top level has nothing to calibrate, so the sample is never run.
        var sample = new CalibrationSample("silence", SampleSets.VadInputs(new float[SampleSets.VadChunk], new float[256]));
        var result = new Quantizer(TinyModels.Factory).Quantize(source, new QuantizerOptions(), [sample], "voice-activity");
        var path = QuantizerTests.Save(result.Model);
        var optimized = OptimizedGraph.OpCounts(TinyModels.Factory, path);

        Assert.Equal(4, result.Summary.QuantizedByOp["LSTM"]); // two state branches in each of the 16 kHz and 8 kHz branches
        Assert.Equal(12, result.Summary.QuantizedByOp["Conv"]);
        Assert.Empty(result.Summary.Skipped);
        Assert.True(new FileInfo(path).Length <= 0.3 * new FileInfo(fp32Path).Length, $"{new FileInfo(path).Length} bytes");
        Assert.Equal(4, optimized.GetValueOrDefault("DynamicQuantizeLSTM"));
        Assert.False(optimized.ContainsKey("LSTM"));
        Assert.False(optimized.ContainsKey("Mul"), "the Conv weights' Cast/Mul were not folded by ORT");
        // The top level holds only the If: the description names what the branch pass did, not the static QDQ it never applied.
        Assert.Equal(
            "If-branch weight quantization, no calibration: 12 Conv with int8-stored weights (per output channel), restored to fp32 by ORT at session creation (fp32 arithmetic), "
            + "4 LSTM -> com.microsoft DynamicQuantizeLSTM (W and R int8 per gate row, activations quantized at run time)",
            result.Description);
        Assert.Equal(result.Description, Assert.Single(result.Model.MetadataProps, p => p.Key == "serverless.quantization").Value);

        var fp32 = File.ReadAllBytes(fp32Path);
        var int8 = File.ReadAllBytes(path);
        foreach (var (rate, chunk) in new[] { (16000L, 512), (8000L, 256) })
        {
            var (p, q) = (Stream(fp32, rate, chunk), Stream(int8, rate, chunk));
            var diff = p.Zip(q).Max(t => Math.Abs(t.First - t.Second));
            Assert.True(diff < 0.1f, $"{rate} Hz: probabilities differ by up to {diff}");
            Assert.Equal(p.Select(v => v > 0.5f), q.Select(v => v > 0.5f));
            Assert.Contains(p, v => v > 0.5f);
            Assert.Contains(p, v => v < 0.5f);
        }
    }

    /// <summary>Streams 0.5 s of silence, 1 s of a voiced, pitch-varying buzz, then silence, carrying the state.</summary>
    private static List<float> Stream(byte[] model, long rate, int chunk)
    {
        using var session = TinyModels.Factory.Create("vad", model, new Core.Inference.SessionSettings { IntraOpThreads = 1 });
        var audio = new float[(int)(rate * 2)];
        var rng = new Random(4);
        double phase = 0;
        for (var i = (int)(rate / 2); i < rate * 3 / 2; i++)
        {
            var t = (double)i / rate;
            phase += 2 * Math.PI * (120 + (40 * Math.Sin(2 * Math.PI * 3 * t))) / rate;
            var voiced = Math.Sin(phase) + (0.5 * Math.Sin(2 * phase)) + (0.3 * Math.Sin(3 * phase)) + (0.2 * Math.Sin(5 * phase));
            audio[i] = (float)((0.25 * voiced * (0.6 + (0.4 * Math.Sin(2 * Math.PI * 4 * t)))) + (0.01 * (rng.NextDouble() - 0.5)));
        }

        var state = new float[256];
        var probabilities = new List<float>();
        for (var start = 0; start + chunk <= audio.Length; start += chunk)
        {
            var inputs = new[]
            {
                new SampleTensor("input", [1, chunk], audio[start..(start + chunk)]),
                new SampleTensor("state", [2, 1, 128], state),
                new SampleTensor("sr", [], Int64s: [rate]),
            };
            var outputs = TinyModels.Run(session, new CalibrationSample("chunk", inputs));
            probabilities.Add(outputs[0][0]);
            state = outputs[1];
        }

        return probabilities;
    }
}
