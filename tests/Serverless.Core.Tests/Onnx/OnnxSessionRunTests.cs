using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Core.Tests.TestModels;

namespace Serverless.Core.Tests.Onnx;

public class OnnxSessionRunTests
{
    private static readonly SessionSettings OneThread = new() { IntraOpThreads = 1 };

    internal static OnnxSession AddSub() => OnnxSessionFactory.Instance.Create("add-sub", TinyModels.AddSub(), OneThread);

    internal static HostTensor Floats(string name, long[] shape, params float[] values)
    {
        var t = new HostTensor();
        t.Initialize(name, TensorElementType.Float, shape);
        values.CopyTo(t.GetSpan<float>());
        return t;
    }

    [Fact]
    public void Run_AddSub_ReturnsSumAndDifferenceWithTheBatchShape()
    {
        using var session = AddSub();
        using var a = Floats("a", [2, 3], 1, 2, 3, 4, 5, 6);
        using var b = Floats("b", [2, 3], 10, 20, 30, 40, 50, 60);
        var results = new IOutputTensor?[2];

        session.Run([a, b], [0, 1], results);

        using var sum = results[0]!;
        using var difference = results[1]!;
        Assert.Equal("sum", sum.Name);
        Assert.Equal(TensorElementType.Float, sum.ElementType);
        Assert.Equal([2L, 3L], sum.Shape.ToArray());
        Assert.Equal([11f, 22f, 33f, 44f, 55f, 66f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(sum.Bytes).ToArray());
        Assert.Equal("difference", difference.Name);
        Assert.Equal([-9f, -18f, -27f, -36f, -45f, -54f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(difference.Bytes).ToArray());
    }

    [Fact]
    public void Run_WithInputsInAnotherOrder_MatchesThemByName()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 3], 5, 5, 5);
        using var b = Floats("b", [1, 3], 1, 2, 3);
        var results = new IOutputTensor?[1];

        session.Run([b, a], [1], results);

        using var difference = results[0]!;
        Assert.Equal("difference", difference.Name);
        Assert.Equal([4f, 3f, 2f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(difference.Bytes).ToArray());
    }

    [Fact]
    public void Run_WithUnknownInputName_IsBadInputListingTheModelsInputs()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 3], 1, 2, 3);
        using var c = Floats("c", [1, 3], 1, 2, 3);
        var ex = Assert.Throws<InferenceException>(() => session.Run([a, c], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Equal("c", ex.Tensor);
        Assert.Equal("add-sub", ex.Model);
        Assert.Contains("no input named 'c'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'a', 'b'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithWrongInputCount_IsBadInputNamingExpectedInputs()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 3], 1, 2, 3);
        var ex = Assert.Throws<InferenceException>(() => session.Run([a], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("expects 2 input(s) ('a', 'b') but got 1 ('a')", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithWrongDatatype_IsBadInputWithExpectedAndActual()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 3], 1, 2, 3);
        using var b = new HostTensor();
        b.Initialize("b", TensorElementType.Int64, [1, 3]);
        var ex = Assert.Throws<InferenceException>(() => session.Run([a, b], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Equal("b", ex.Tensor);
        Assert.Contains("expected datatype FP32, got INT64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithWrongRank_IsBadInputShowingBothShapes()
    {
        using var session = AddSub();
        using var a = Floats("a", [3], 1, 2, 3);
        using var b = Floats("b", [1, 3], 1, 2, 3);
        var ex = Assert.Throws<InferenceException>(() => session.Run([a, b], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("expected shape [-1,3]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("got [3]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithWrongFixedDimension_IsBadInputBeforeTheNativeCall()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 4], 1, 2, 3, 4);
        using var b = Floats("b", [1, 4], 1, 2, 3, 4);
        var ex = Assert.Throws<InferenceException>(() => session.Run([a, b], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Null(ex.OrtErrorCode);
        Assert.Contains("got [1,4]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithMismatchedBatchSizes_IsAnOrtErrorNamingTheModel()
    {
        using var session = AddSub();
        using var a = Floats("a", [2, 3], 1, 2, 3, 4, 5, 6);
        using var b = Floats("b", [3, 3], 1, 2, 3, 4, 5, 6, 7, 8, 9);
        var ex = Assert.Throws<InferenceException>(() => session.Run([a, b], [0], new IOutputTensor?[1]));
        Assert.NotNull(ex.OrtErrorCode);
        Assert.Contains("Model 'add-sub'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithTheSameInputTwice_IsBadInput()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 3], 1, 2, 3);
        var ex = Assert.Throws<InferenceException>(() => session.Run([a, a], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("more than once", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_OnADisposedSession_ThrowsObjectDisposed()
    {
        var session = AddSub();
        session.Dispose();
        session.Dispose(); // idempotent
        using var a = Floats("a", [1, 3], 1, 2, 3);
        using var b = Floats("b", [1, 3], 1, 2, 3);
        Assert.True(session.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => session.Run([a, b], [0], new IOutputTensor?[1]));
    }

    [Fact]
    public void Output_AfterDispose_ThrowsObjectDisposedAndDisposeIsIdempotent()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 3], 1, 2, 3);
        using var b = Floats("b", [1, 3], 1, 2, 3);
        var results = new IOutputTensor?[1];
        session.Run([a, b], [0], results);
        var sum = results[0]!;
        sum.Dispose();
        sum.Dispose();
        Assert.Throws<ObjectDisposedException>(() => sum.Bytes.Length);
    }

    [Fact]
    public void Run_FromManyThreadsAtOnce_GivesEveryCallerItsOwnCorrectResult()
    {
        using var session = OnnxSessionFactory.Instance.Create("add-sub", TinyModels.AddSub(), new SessionSettings { IntraOpThreads = 1 });
        var failures = 0;
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var a = Floats("a", [2, 3], i, i + 1, i + 2, i + 3, i + 4, i + 5);
            using var b = Floats("b", [2, 3], 1000, 1000, 1000, 1000, 1000, 1000);
            var results = new IOutputTensor?[2];
            session.Run([a, b], [0, 1], results);
            using var sum = results[0]!;
            using var difference = results[1]!;
            var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(sum.Bytes);
            var d = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(difference.Bytes);
            for (var k = 0; k < 6; k++)
            {
                if (s[k] != i + k + 1000 || d[k] != i + k - 1000)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task Dispose_WhileARunIsInFlight_LetsTheRunFinishAndRefusesLaterRuns()
    {
        var session = OnnxSessionFactory.Instance.Create("matmul-chain", TinyModels.MatMulChain(128, 400), OneThread);
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.Float, [128, 128]);
        x.GetSpan<float>().Fill(0f);
        using var started = new ManualResetEventSlim();
        var run = Task.Run(() =>
        {
            var results = new IOutputTensor?[1];
            started.Set();
            session.Run([x], [0], results);
            using var y = results[0]!;
            return y.Shape.ToArray();
        });
        started.Wait();
        await Task.Delay(20);
        session.Dispose(); // the native session is released only when the run above lets go of it

        var shape = await run;
        Assert.Equal(new long[] { 128, 128 }, shape);
        Assert.Throws<ObjectDisposedException>(() => session.Run([x], [0], new IOutputTensor?[1]));
    }

    [Fact]
    public void Run_WithAnOutputIndexOutOfRange_ThrowsArgumentOutOfRange()
    {
        using var session = AddSub();
        using var a = Floats("a", [1, 3], 1, 2, 3);
        using var b = Floats("b", [1, 3], 1, 2, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Run([a, b], [2], new IOutputTensor?[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Run([a, b], [-1], new IOutputTensor?[1]));
        Assert.Throws<ArgumentException>(() => session.Run([a, b], [0, 1], new IOutputTensor?[1]));
    }
}
