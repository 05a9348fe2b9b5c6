using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Onnx.Native;
using Serverless.Core.Tensors;
using Serverless.Core.Tests.TestModels;

namespace Serverless.Core.Tests.Onnx;

/// <summary>
/// A wrong offset in the OrtApi table calls the wrong native function, so these tests pin the offsets to the
/// header's indices and call entries from the end of the table and check that they do what their name says.
/// </summary>
public unsafe class OrtApiTableTests
{
    private static int IndexOf(OrtApi* api, void* field) => (int)(((byte*)field - (byte*)api) / sizeof(nint));

    [Fact]
    public void Table_HasOnePointerPerHeaderEntry()
    {
        Assert.Equal(OrtApi.DeclaredEntryCount * sizeof(nint), sizeof(OrtApi));
    }

    [Fact]
    public void Table_PutsEntriesAtTheHeadersIndices()
    {
        OrtApi table = default;
        var api = &table;
        Assert.Equal(9, IndexOf(api, &api->Run));
        Assert.Equal(49, IndexOf(api, &api->CreateTensorWithDataAsOrtValue));
        Assert.Equal(63, IndexOf(api, &api->GetSymbolicDimensions));
        Assert.Equal(92, IndexOf(api, &api->ReleaseEnv));
        Assert.Equal(101, IndexOf(api, &api->ReleaseCustomOpDomain));
        Assert.Equal(125, IndexOf(api, &api->GetAvailableProviders));
        Assert.Equal(127, IndexOf(api, &api->GetStringTensorElementLength));
        Assert.Equal(129, IndexOf(api, &api->FillStringTensorElement));
        Assert.Equal(130, IndexOf(api, &api->AddSessionConfigEntry));
        Assert.Equal(152, IndexOf(api, &api->SessionOptionsAppendExecutionProvider_CUDA));
        Assert.Equal(204, IndexOf(api, &api->SessionOptionsAppendExecutionProvider_CUDA_V2));
        Assert.Equal(208, IndexOf(api, &api->ReleaseCUDAProviderOptions));
    }

    [Fact]
    public void GetAvailableProviders_ListsTheCpuProvider()
    {
        var providers = OnnxSessionFactory.AvailableProviders();
        Assert.Contains("CPUExecutionProvider", providers);
        Assert.All(providers, p => Assert.EndsWith("ExecutionProvider", p, StringComparison.Ordinal));
    }

    [Fact]
    public void CudaV2Entries_WithoutAGpu_ReportACudaLoadFailureAndTheSessionFallsBackToCpu()
    {
        using var session = OnnxSessionFactory.Instance.Create("add-sub", TinyModels.AddSub(), new SessionSettings { PreferCuda = true, IntraOpThreads = 1 });
        Assert.Equal("CPUExecutionProvider", session.ExecutionProvider);
        Assert.NotNull(session.FallbackReason);
        Assert.Contains("CUDA", session.FallbackReason, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("CPUExecutionProvider", session.FallbackReason, StringComparison.Ordinal);

        // The session still runs correctly on the CPU.
        using var a = OnnxSessionRunTests.Floats("a", [1, 3], 1, 2, 3);
        using var b = OnnxSessionRunTests.Floats("b", [1, 3], 1, 1, 1);
        var results = new IOutputTensor?[1];
        session.Run([a, b], [0], results);
        using var sum = results[0]!;
        Assert.Equal([2f, 3f, 4f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(sum.Bytes).ToArray());
    }

    [Fact]
    public void CudaV1Entry_RejectsTheOptionsWithACudaMessage()
    {
        var api = OrtRuntime.Api;
        OrtSessionOptions* options;
        Assert.True(api->CreateSessionOptions(&options) is null);
        try
        {
            var cudaOptions = stackalloc byte[256]; // zeroed OrtCUDAProviderOptions: device 0, defaults
            new Span<byte>(cudaOptions, 256).Clear();
            var status = api->SessionOptionsAppendExecutionProvider_CUDA(options, cudaOptions);
            Assert.True(status is not null);
            var message = OrtErrors.ReadAndRelease(status, out _);
            Assert.Contains("CUDA", message, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            api->ReleaseSessionOptions(options);
        }
    }

    [Fact]
    public void StringElementEntries_ReadBackWhatFillStringTensorElementWrote()
    {
        using var input = new HostTensor();
        input.Initialize("x", TensorElementType.String, [3]);
        input.AppendString("héllo"u8);
        input.AppendString(""u8);
        input.AppendString("third"u8);
        using var value = Serverless.Core.Onnx.OrtValue.CreateTensor(input);
        var api = OrtRuntime.Api;
        for (var i = 0; i < 3; i++)
        {
            nuint length;
            Assert.True(api->GetStringTensorElementLength(value.Pointer, (nuint)i, &length) is null);
            var expected = input.GetStringBytes(i);
            Assert.Equal((nuint)expected.Length, length);
            var buffer = new byte[(int)length + 1];
            fixed (byte* b = buffer)
            {
                Assert.True(api->GetStringTensorElement(value.Pointer, length, (nuint)i, b) is null);
            }

            Assert.True(buffer.AsSpan(0, (int)length).SequenceEqual(expected));
        }
    }

    [Fact]
    public void AddSessionConfigEntry_IsWhatSessionsAreConfiguredWith()
    {
        // Spinning on or off must both create working sessions (the entry is called either way).
        using var spinning = OnnxSessionFactory.Instance.Create("spin", TinyModels.AddSub(), new SessionSettings { AllowSpinning = true, IntraOpThreads = 2 });
        using var quiet = OnnxSessionFactory.Instance.Create("quiet", TinyModels.AddSub(), new SessionSettings { AllowSpinning = false, IntraOpThreads = 2 });
        Assert.Equal(2, spinning.Inputs.Count);
        Assert.Equal(2, quiet.Inputs.Count);
    }
}
