using System.Text.Json;
using Serverless.Gpu.Tests.Fixtures;
using Serverless.Gpu.Tests.Packaging;

namespace Serverless.Gpu.Tests.Hosting;

/// <summary>
/// The GPU server as a container runs it, with the GPU build of ONNX Runtime on a build machine that has no
/// CUDA 13 libraries (and no GPU): required, it must stop at start-up naming the library ONNX Runtime could not
/// load; with the CPU fallback asked for, it must serve and say it runs on the CPU.
/// </summary>
public sealed class GpuRequiredProcessTests
{
    private static IReadOnlyList<string> CudaProviderNeeds { get; } =
        ElfNeededReader.Read(Path.Combine(Path.GetDirectoryName(GpuServerProcess.OrtGpuLibrary)!, "libonnxruntime_providers_cuda.so"));

    [Fact]
    public async Task Start_WithGpuRequiredByDefaultAndNoCudaLibraries_ExitsNonZeroNamingTheMissingLibrary()
    {
        await using var server = GpuServerProcess.Start(new Dictionary<string, string?>());

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.NotNull(exitCode);
        Assert.NotEqual(0, exitCode);
        // Our one line, not ONNX Runtime's own log line before it, names the library.
        var fatal = Assert.Single(server.StandardError.Split('\n'), l => l.StartsWith("The GPU server could not start:", StringComparison.Ordinal));
        Assert.Contains("GPU_REQUIRED=true, but ONNX Runtime could not add the CUDA execution provider", fatal);
        Assert.Contains(CudaProviderNeeds, library => fatal.Contains($"{library} was not found", StringComparison.Ordinal));
        Assert.Contains("GPU_REQUIRED=false", fatal); // says how to allow the fallback
    }

    [Fact]
    public async Task Start_WithGpuRequiredFalse_ServesOnTheCpuAndReportsItsProviderAndWhy()
    {
        await using var server = GpuServerProcess.Start(new Dictionary<string, string?> { ["GPU_REQUIRED"] = "false" });
        Assert.True(await server.WaitUntilListeningAsync(TimeSpan.FromSeconds(90)), server.StandardError);

        var before = JsonDocument.Parse(await server.Client.GetStringAsync("/v2")).RootElement;
        var answer = await TextDirection.InferAsync(server.Client, TextDirection.Image(seed: 3));
        var after = JsonDocument.Parse(await server.Client.GetStringAsync("/v2")).RootElement;
        var stats = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/text-direction/stats")).RootElement.GetProperty("model_stats")[0];

        Assert.Equal("CPUExecutionProvider", before.GetProperty("execution_provider").GetString());
        Assert.False(before.GetProperty("gpu_required").GetBoolean());
        Assert.Equal("CPUExecutionProvider", before.GetProperty("execution_providers").GetProperty("text-direction").GetString()); // before its load
        Assert.Equal(200, answer.Status);
        Assert.Equal("CPUExecutionProvider", after.GetProperty("execution_providers").GetProperty("text-direction").GetString());
        Assert.Equal("READY", stats.GetProperty("state").GetString());
        Assert.Equal("CPUExecutionProvider", stats.GetProperty("execution_provider").GetString());
        var reason = stats.GetProperty("fallback_reason").GetString()!;
        Assert.Contains(CudaProviderNeeds, library => reason.Contains($"{library} was not found", StringComparison.Ordinal));
        Assert.True(await server.WaitForOutputAsync("CUDA is not available", TimeSpan.FromSeconds(10)), "the CPU fallback logs one warning");
    }

    [Fact]
    public async Task Start_WithGpuRequiredAndCudaNotPreferred_RefusesTheContradictionNamingBoth()
    {
        await using var server = GpuServerProcess.Start(new Dictionary<string, string?> { ["GPU_REQUIRED"] = "true", ["GPU_PREFER_CUDA"] = "false" });

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("GPU_REQUIRED='true'", server.StandardError);
        Assert.Contains("GPU_PREFER_CUDA=false", server.StandardError);
    }
}
