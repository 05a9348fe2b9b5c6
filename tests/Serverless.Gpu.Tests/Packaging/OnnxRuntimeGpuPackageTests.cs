using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Tests.Shared;

namespace Serverless.Gpu.Tests.Packaging;

/// <summary>
/// Checks, without a GPU, that the GPU image can load ONNX Runtime's CUDA provider: the NEEDED entries of the
/// providers restored from Microsoft.ML.OnnxRuntime.Gpu.Linux against the Dockerfile's base image, and that the
/// server's output carries only the GPU build of libonnxruntime.so.
/// </summary>
public sealed class OnnxRuntimeGpuPackageTests
{
    private static readonly string Dockerfile = Path.Combine(RepoPaths.Root, "functions", "Serverless.Gpu", "Dockerfile");

    /// <summary>Where the build copied the package's linux-x64 natives (through the reference to Serverless.Gpu).</summary>
    private static string Native(string file) => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", file);

    [Fact]
    public void CudaProvider_LinksCuda13AndItsLibraries()
    {
        var needed = ElfNeededReader.Read(Native("libonnxruntime_providers_cuda.so"));

        Assert.Contains("libcudart.so.13", needed);
        Assert.Contains("libcublas.so.13", needed);
        Assert.Contains("libcublasLt.so.13", needed);
        Assert.Contains("libcurand.so.10", needed);
    }

    [Fact]
    public void Dockerfile_BaseImage_MatchesTheCudaAndCudnnMajorsTheProvidersLink()
    {
        var problems = BaseImageCheck.Mismatches(
            File.ReadAllText(Dockerfile),
            ElfNeededReader.Read(Native("libonnxruntime_providers_cuda.so")),
            ElfNeededReader.Read(Native("libonnxruntime_providers_tensorrt.so")));

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Check_WithTheFormerCuda12Image_NamesBothMajors()
    {
        var former = File.ReadAllText(Dockerfile).Replace(
            BaseImageCheck.Arg(File.ReadAllText(Dockerfile), "CUDA_IMAGE")!, "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04", StringComparison.Ordinal);

        var problems = BaseImageCheck.Mismatches(former, ["libcudart.so.13", "libcublas.so.13", "libc.so.6"], ["libcudnn.so.9"]);

        var problem = Assert.Single(problems);
        Assert.Contains("carries CUDA 12", problem);
        Assert.Contains("libcudart.so.13 (CUDA 13)", problem);
    }

    [Fact]
    public void Check_WithALibraryTheDockerfileDoesNotVerify_NamesIt()
    {
        var text = File.ReadAllText(Dockerfile);

        var problems = BaseImageCheck.Mismatches(text, ["libcudart.so.13", "libcufft.so.12", "libcuda.so.1"], ["libcudnn.so.8"]);

        Assert.Contains(problems, p => p.Contains("links libcudnn.so.8 (cuDNN 8)"));
        Assert.Contains(problems, p => p.Contains("needs libcufft.so.12") && p.Contains("PROVIDER_LIBRARIES"));
        Assert.DoesNotContain(problems, p => p.Contains("libcuda.so.1")); // the host driver's, not the image's
    }

    [Fact]
    public void Dockerfile_BuildsFromNuGetOnly_AndPinsItsBaseImageByDigest()
    {
        var text = File.ReadAllText(Dockerfile);

        Assert.DoesNotContain("ORT_SHA256", text);
        Assert.DoesNotMatch(@"\b(curl|wget)\b", text);
        Assert.Matches(@"@sha256:[0-9a-f]{64}$", BaseImageCheck.Arg(text, "CUDA_IMAGE"));
        Assert.Matches(new Regex(@"^\s*GPU_REQUIRED=true", RegexOptions.Multiline), text);
        Assert.Contains("SERVERLESS_ORT_LIBRARY=/app/libonnxruntime.so", text);
    }

    [Fact]
    public void ServerOutput_HasOnlyTheGpuBuildOfOnnxRuntime()
    {
        // The server's deps file lists every native asset a publish copies; a second libonnxruntime.so (the CPU
        // package's) would make which one is loaded depend on copy order.
        using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "serverless-gpu.deps.json")));
        var nativeOwners = deps.RootElement.GetProperty("targets").EnumerateObject().First().Value.EnumerateObject()
            .Where(p => p.Value.TryGetProperty("runtimeTargets", out var targets) && targets.EnumerateObject().Any(t => t.Name.EndsWith("libonnxruntime.so", StringComparison.Ordinal)))
            .Select(p => p.Name)
            .ToArray();

        Assert.Equal(["Microsoft.ML.OnnxRuntime.Gpu.Linux/1.30.0"], nativeOwners);
        Assert.True(File.Exists(Native("libonnxruntime_providers_cuda.so")));
    }

    [Fact]
    public void ElfReader_OnAFileThatIsNotElf_SaysSoNamingTheFile()
    {
        var error = Assert.Throws<InvalidDataException>(() => ElfNeededReader.Read(Dockerfile));

        Assert.Contains("Dockerfile", error.Message);
        Assert.Contains("not an ELF file", error.Message);
    }
}
