using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Core.Tests.TestModels;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Onnx;

public class OnnxSessionMetadataTests
{
    private static readonly SessionSettings OneThread = new() { IntraOpThreads = 1 };

    private static OnnxSession Real(string name) => OnnxSessionFactory.Instance.Create(name, RepoPaths.ModelFile(name), OneThread);

    [Fact]
    public void TextDirection_DescribesItsInputAndOutputWithDynamicAndSymbolicDims()
    {
        using var session = Real("text-direction");
        var x = Assert.Single(session.Inputs);
        Assert.Equal("x", x.Name);
        Assert.Equal(TensorElementType.Float, x.ElementType);
        Assert.Equal([-1L, 3, -1, -1], x.Shape);
        Assert.Equal(new string?[] { "p2o.DynamicDimension.0", null, "p2o.DynamicDimension.1", "p2o.DynamicDimension.2" }, x.SymbolicDimensions.AsEnumerable());
        Assert.True(x.HasDynamicBatch);
        var y = Assert.Single(session.Outputs);
        Assert.Equal("softmax_0.tmp_0", y.Name);
        Assert.Equal([-1L, 2], y.Shape);
        Assert.Equal("CPUExecutionProvider", session.ExecutionProvider);
        Assert.Null(session.FallbackReason);
    }

    [Fact]
    public void TextDetectionAndRecognition_ReportTheirFixedAndDynamicDims()
    {
        using var detection = Real("text-detection");
        Assert.Equal([-1L, 3, -1, -1], detection.Inputs[0].Shape);
        Assert.Equal("sigmoid_0.tmp_0", detection.Outputs[0].Name);
        Assert.Equal([-1L, 1, -1, -1], detection.Outputs[0].Shape);

        using var recognition = Real("text-recognition");
        Assert.Equal([-1L, 3, 48, -1], recognition.Inputs[0].Shape);
        Assert.Equal("softmax_11.tmp_0", recognition.Outputs[0].Name);
        Assert.Equal([-1L, -1, 6625], recognition.Outputs[0].Shape);
        Assert.Equal("p2o.DynamicDimension.2", recognition.Outputs[0].SymbolicDimensions[0]);
    }

    [Fact]
    public void VoiceActivity_ListsThreeInputsIncludingAnInt64Scalar()
    {
        using var session = Real("voice-activity");
        Assert.Equal(["input", "state", "sr"], session.Inputs.Select(i => i.Name));
        Assert.Equal([-1L, -1], session.Inputs[0].Shape);
        Assert.Equal([2L, -1, 128], session.Inputs[1].Shape);
        Assert.Equal(TensorElementType.Int64, session.Inputs[2].ElementType);
        Assert.Empty(session.Inputs[2].Shape);
        Assert.Equal(["output", "stateN"], session.Outputs.Select(o => o.Name));
        Assert.All(session.Inputs[0].SymbolicDimensions, Assert.Null); // unnamed dynamic dims have no symbol
    }

    [Fact]
    public void TextDirection_OnADeterministicInput_ReturnsSoftmaxRowsThatSumToOne()
    {
        using var session = Real("text-direction");
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.Float, [2, 3, 48, 192]);
        var data = x.GetSpan<float>();
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)Math.Sin(i * 0.001) * (i < data.Length / 2 ? 1f : -0.5f);
        }

        var first = RunDirection(session, x);
        var second = RunDirection(session, x);
        Assert.Equal(4, first.Length);
        for (var row = 0; row < 2; row++)
        {
            Assert.InRange(first[2 * row], 0f, 1f);
            Assert.InRange(first[(2 * row) + 1], 0f, 1f);
            Assert.Equal(1.0, first[2 * row] + first[(2 * row) + 1], 5);
        }

        Assert.Equal(first, second); // same input, same answer
    }

    private static float[] RunDirection(OnnxSession session, HostTensor x)
    {
        var results = new IOutputTensor?[1];
        session.Run([x], [0], results);
        using var y = results[0]!;
        Assert.Equal([2L, 2], y.Shape.ToArray());
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(y.Bytes).ToArray();
    }

    [Fact]
    public void SessionFromBytes_OfARealModel_MatchesTheSessionFromItsFile()
    {
        var path = RepoPaths.ModelFile("text-direction");
        using var fromFile = Real("text-direction");
        using var fromBytes = OnnxSessionFactory.Instance.Create("text-direction", File.ReadAllBytes(path), OneThread);
        Assert.Equal(fromFile.Inputs[0].Shape, fromBytes.Inputs[0].Shape);
        Assert.Equal(fromFile.Outputs[0].Name, fromBytes.Outputs[0].Name);
    }

    [Fact]
    public void TinyModel_WithSymbolicBatch_ReportsTheDimName()
    {
        using var session = OnnxSessionRunTests.AddSub();
        Assert.Equal(["a", "b"], session.Inputs.Select(i => i.Name));
        Assert.Equal([-1L, 3], session.Inputs[0].Shape);
        Assert.Equal(new string?[] { "batch", null }, session.Inputs[0].SymbolicDimensions.AsEnumerable());
        Assert.Equal(["sum", "difference"], session.Outputs.Select(o => o.Name));
    }

    [Fact]
    public void Create_FromBrokenBytes_IsInvalidInputNamingTheModelAndOrtCode()
    {
        var ex = Assert.Throws<InferenceException>(() => OnnxSessionFactory.Instance.Create("broken", TinyModels.Broken(), OneThread));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Equal("broken", ex.Model);
        Assert.NotNull(ex.OrtErrorCode);
        Assert.Contains("Model 'broken'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ORT_INVALID_PROTOBUF", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a valid ONNX model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_FromACorruptFile_IsInvalidInputAndSaysHowToFixIt()
    {
        var path = Path.Combine(Path.GetTempPath(), $"corrupt-{Guid.NewGuid():N}.onnx");
        var bytes = File.ReadAllBytes(RepoPaths.ModelFile("text-direction"));
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 3).ToArray()); // truncated download
        try
        {
            var ex = Assert.Throws<InferenceException>(() => OnnxSessionFactory.Instance.Create("text-direction", path, OneThread));
            Assert.Equal(ErrorCode.InvalidInput, ex.Code);
            Assert.NotNull(ex.OrtErrorCode);
            Assert.Contains("Model 'text-direction'", ex.Message, StringComparison.Ordinal);
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Create_FromAMissingFile_IsNotFoundNamingThePath()
    {
        var ex = Assert.Throws<InferenceException>(() => OnnxSessionFactory.Instance.Create("ghost", "/nowhere/model.onnx", OneThread));
        Assert.Equal(ErrorCode.NotFound, ex.Code);
        Assert.Contains("'/nowhere/model.onnx' does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Equal("ghost", ex.Model);
    }

    [Fact]
    public void Create_FromEmptyBytes_IsInvalidInput()
    {
        var ex = Assert.Throws<InferenceException>(() => OnnxSessionFactory.Instance.Create("empty", ReadOnlySpan<byte>.Empty, OneThread));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_OptimizedModelPath_MakesOrtWriteTheOptimizedModel()
    {
        var path = Path.Combine(Path.GetTempPath(), $"optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using var session = OnnxSessionFactory.Instance.Create("add-sub", TinyModels.AddSub(),
                new SessionSettings { IntraOpThreads = 1, OptimizedModelPath = path, Optimization = GraphOptimization.Basic });
            Assert.True(new FileInfo(path).Length > 0);
            using var reloaded = OnnxSessionFactory.Instance.Create("optimized", path, OneThread);
            Assert.Equal(["sum", "difference"], reloaded.Outputs.Select(o => o.Name));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(GraphOptimization.None, false)]
    [InlineData(GraphOptimization.Extended, true)]
    [InlineData(GraphOptimization.Layout, false)]
    [InlineData(GraphOptimization.All, true)]
    public void Settings_EveryOptimizationLevelAndArenaChoice_GivesAWorkingSession(GraphOptimization level, bool arena)
    {
        using var session = OnnxSessionFactory.Instance.Create("add-sub", TinyModels.AddSub(),
            new SessionSettings { IntraOpThreads = 1, InterOpThreads = 1, Optimization = level, EnableMemoryArena = arena });
        using var a = OnnxSessionRunTests.Floats("a", [1, 3], 1, 2, 3);
        using var b = OnnxSessionRunTests.Floats("b", [1, 3], 3, 2, 1);
        var results = new IOutputTensor?[1];
        session.Run([a, b], [0], results);
        using var sum = results[0]!;
        Assert.Equal([4f, 4f, 4f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(sum.Bytes).ToArray());
    }
}
