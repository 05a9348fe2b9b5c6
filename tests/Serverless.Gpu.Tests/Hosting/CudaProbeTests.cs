using Serverless.Core.Errors;
using Serverless.Core.Onnx;
using Serverless.Gpu.Hosting;
using Serverless.Gpu.Tests.Fixtures;

namespace Serverless.Gpu.Tests.Hosting;

/// <summary>The start-up probe in this process, whose ONNX Runtime (the repository's CPU build) has no CUDA provider.</summary>
public sealed class CudaProbeTests
{
    static CudaProbeTests() => GpuTestServer.UseRepositoryRuntime();

    [Fact]
    public void Probe_WithoutCuda_AndTheFallbackAllowed_ReportsCpuAndOnnxRuntimesReason()
    {
        var (provider, reason) = CudaProbe.Run(OnnxSessionFactory.Instance, requireCuda: false);

        Assert.Equal("CPUExecutionProvider", provider);
        Assert.Contains("CUDA execution provider unavailable", reason);
    }

    [Fact]
    public void Probe_WithoutCuda_AndCudaRequired_FailsSayingWhyAndHowToFix()
    {
        var error = Assert.Throws<InferenceException>(() => CudaProbe.Run(OnnxSessionFactory.Instance, requireCuda: true));

        Assert.Equal(ErrorCode.RuntimeFailure, error.Code);
        Assert.StartsWith("GPU_REQUIRED=true, but ONNX Runtime could not add the CUDA execution provider: CUDA execution provider unavailable", error.Message);
        Assert.DoesNotContain("running on CPUExecutionProvider", error.Message);
        Assert.Contains("set GPU_REQUIRED=false to serve on the CPU", error.Message);
    }

    [Fact]
    public void IdentityModel_IsAValidModelThatRuns()
    {
        using var session = OnnxSessionFactory.Instance.Create("probe", CudaProbe.IdentityModel(), Serverless.Core.Inference.SessionSettings.Default);

        Assert.Equal("x", Assert.Single(session.Inputs).Name);
        Assert.Equal("y", Assert.Single(session.Outputs).Name);
        Assert.Equal([1L], session.Inputs[0].Shape);
    }
}
