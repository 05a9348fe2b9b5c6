using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Core.Tests.TestModels;
using OrtValue = Serverless.Core.Onnx.OrtValue;

namespace Serverless.Core.Tests.Onnx;

public class OrtValueRunTests
{
    private static readonly SessionSettings OneThread = new() { IntraOpThreads = 1 };

    [Fact]
    public void Run_WithReusedValues_AllocatesNoManagedMemoryOverAThousandRuns()
    {
        using var session = OnnxSessionRunTests.AddSub();
        var a = new float[6];
        var b = new float[6];
        var sum = new float[6];
        var difference = new float[6];
        using var va = OrtValue.CreateTensor<float>(a, [2, 3], "a");
        using var vb = OrtValue.CreateTensor<float>(b, [2, 3], "b");
        using var vs = OrtValue.CreateTensor<float>(sum, [2, 3], "sum");
        using var vd = OrtValue.CreateTensor<float>(difference, [2, 3], "difference");
        OrtValue[] inputs = [va, vb];
        OrtValue[] outputs = [vs, vd];
        for (var i = 0; i < 6; i++)
        {
            a[i] = i;
            b[i] = 10;
        }

        for (var i = 0; i < 20; i++)
        {
            session.Run(inputs, outputs); // warm-up: JIT, ORT's first-run allocations
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            session.Run(inputs, outputs);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal([10f, 11f, 12f, 13f, 14f, 15f], sum);
        Assert.Equal([-10f, -9f, -8f, -7f, -6f, -5f], difference);
    }

    [Fact]
    public void Run_WithReusedValues_SeesInputsChangedInPlace()
    {
        using var session = OnnxSessionRunTests.AddSub();
        using var va = OrtValue.CreateTensor<float>(new float[3], [1, 3], "a");
        using var vb = OrtValue.CreateTensor<float>(new float[3], [1, 3], "b");
        using var vs = OrtValue.CreateTensor<float>(new float[3], [1, 3], "sum");
        using var vd = OrtValue.CreateTensor<float>(new float[3], [1, 3], "difference");
        for (var round = 1; round <= 3; round++)
        {
            va.GetSpan<float>().Fill(round);
            vb.GetSpan<float>().Fill(100);
            session.Run([va, vb], [vs, vd]);
            Assert.Equal([100f + round, 100f + round, 100f + round], vs.GetSpan<float>().ToArray());
            Assert.Equal(100f + round, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(vs.Bytes)[0]);
        }
    }

    [Fact]
    public void Run_WithValuesOverAHostTensorAndAPinnedPointer_ReadsTheirMemoryWithoutCopying()
    {
        using var session = OnnxSessionRunTests.AddSub();
        using var host = OnnxSessionRunTests.Floats("a", [1, 3], 1, 2, 3);
        using var va = OrtValue.CreateTensor(host);
        Assert.Equal(host.DataPointer, va.DataPointer);
        var pinned = GC.AllocateArray<float>(3, pinned: true);
        pinned.AsSpan().Fill(0.5f);
        unsafe
        {
            fixed (float* p = pinned)
            {
                using var vb = OrtValue.CreateTensor(TensorElementType.Float, (nint)p, 12, [1, 3], "b");
                using var vs = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
                using var vd = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
                session.Run([va, vb], [vs, vd]);
                Assert.Equal([1.5f, 2.5f, 3.5f], vs.GetSpan<float>().ToArray());
                host.GetSpan<float>()[0] = 7; // the value is a view: a change to the host tensor is seen by the next run
                session.Run([va, vb], [vs, vd]);
                Assert.Equal(7.5f, vs.GetSpan<float>()[0]);
            }
        }
    }

    [Fact]
    public void Run_WithValuesOfTheWrongType_IsBadInputBeforeTheNativeCall()
    {
        using var session = OnnxSessionRunTests.AddSub();
        using var va = OrtValue.CreateTensor<float>(new float[3], [1, 3], "a");
        using var vb = OrtValue.CreateTensor<double>(new double[3], [1, 3], "b");
        using var vs = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        using var vd = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        var ex = Assert.Throws<InferenceException>(() => session.Run([va, vb], [vs, vd]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Equal("b", ex.Tensor);
        Assert.Contains("expected datatype FP32, got FP64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithTooFewValues_IsBadInputListingInputsAndOutputs()
    {
        using var session = OnnxSessionRunTests.AddSub();
        using var va = OrtValue.CreateTensor<float>(new float[3], [1, 3], "a");
        using var vs = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        var ex = Assert.Throws<InferenceException>(() => session.Run([va], [vs]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("('a', 'b')", ex.Message, StringComparison.Ordinal);
        Assert.Contains("('sum', 'difference')", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithAnOutputOfTheWrongBatch_IsAnOrtErrorNotACrash()
    {
        using var session = OnnxSessionRunTests.AddSub();
        using var va = OrtValue.CreateTensor<float>(new float[6], [2, 3], "a");
        using var vb = OrtValue.CreateTensor<float>(new float[6], [2, 3], "b");
        using var vs = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        using var vd = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        var ex = Assert.Throws<InferenceException>(() => session.Run([va, vb], [vs, vd]));
        Assert.NotNull(ex.OrtErrorCode);
        Assert.Equal("add-sub", ex.Model);
    }

    [Fact]
    public void CreateTensor_WithTooLittleMemoryForTheShape_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => OrtValue.CreateTensor<float>(new float[5], [2, 3], "x"));
        Assert.Contains("needs 6 elements, the memory holds 5", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => OrtValue.CreateTensor(TensorElementType.Float, 1, 8, [3], "x"));
        Assert.Throws<ArgumentException>(() => OrtValue.CreateTensor(TensorElementType.String, 1, 8, [1], "x"));
    }

    [Fact]
    public void GetSpan_WithTheWrongElementType_Throws()
    {
        using var value = OrtValue.CreateTensor<int>(new int[4], [4], "x");
        Assert.Equal(TensorElementType.Int32, value.ElementType);
        Assert.Throws<InvalidOperationException>(() => value.GetSpan<float>().Length);
        value.Dispose();
        Assert.Throws<ObjectDisposedException>(() => value.GetSpan<int>().Length);
    }

    [Fact]
    public void Run_WhenTheTokenIsCancelledMidRun_StopsTheNativeRunAndThrowsOperationCanceled()
    {
        // About 4 s of work on one thread even on a fast AVX-512 core (256^3 x 8000 multiply-adds); the token
        // fires 150 ms in. (With 2000 MatMuls of a tiny-valued matrix a fast machine finished first.)
        using var session = OnnxSessionFactory.Instance.Create("matmul-chain", TinyModels.MatMulChain(256, 8000), OneThread);
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.Float, [256, 256]);
        x.GetSpan<float>().Fill(1f);
        using var cts = new CancellationTokenSource();

        // Cancelled from a thread of its own, not a CancellationTokenSource timer: a timer's callback waits for a
        // thread-pool thread, which the rest of the suite running in parallel can keep busy past the whole run.
        var canceller = new Thread(() =>
        {
            Thread.Sleep(150);
            cts.Cancel();
        }) { IsBackground = true };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        canceller.Start();
        Assert.ThrowsAny<OperationCanceledException>(() => session.Run([x], [0], new IOutputTensor?[1], cts.Token));
        watch.Stop();
        canceller.Join();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {watch.Elapsed}");

        // The session is still usable afterwards.
        using var small = OnnxSessionRunTests.AddSub();
        Assert.Equal(2, small.Outputs.Count);
    }

    [Fact]
    public void Run_WithAnAlreadyCancelledToken_ThrowsWithoutRunning()
    {
        using var session = OnnxSessionRunTests.AddSub();
        using var a = OnnxSessionRunTests.Floats("a", [1, 3], 1, 2, 3);
        using var b = OnnxSessionRunTests.Floats("b", [1, 3], 1, 2, 3);
        var results = new IOutputTensor?[1];
        Assert.ThrowsAny<OperationCanceledException>(() => session.Run([a, b], [0], results, new CancellationToken(canceled: true)));
        Assert.Null(results[0]);
    }

    [Fact]
    public void Run_WithACancellableTokenThatIsNotCancelled_Completes()
    {
        using var session = OnnxSessionRunTests.AddSub();
        using var a = OnnxSessionRunTests.Floats("a", [1, 3], 1, 2, 3);
        using var b = OnnxSessionRunTests.Floats("b", [1, 3], 1, 2, 3);
        using var cts = new CancellationTokenSource();
        var results = new IOutputTensor?[1];
        session.Run([a, b], [0], results, cts.Token);
        using var sum = results[0]!;
        Assert.Equal([2f, 4f, 6f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(sum.Bytes).ToArray());
    }
}
