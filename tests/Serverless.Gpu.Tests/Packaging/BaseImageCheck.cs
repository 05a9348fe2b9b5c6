using System.Text.RegularExpressions;

namespace Serverless.Gpu.Tests.Packaging;

/// <summary>
/// Compares what the Dockerfile's runtime stage provides (the CUDA major in the nvidia/cuda tag, CUDNN_MAJOR and
/// the PROVIDER_LIBRARIES the build checks with ldconfig) with what ONNX Runtime's providers link (their NEEDED
/// entries). Each mismatch is one sentence naming both sides; none means the image can load the CUDA provider.
/// </summary>
internal static partial class BaseImageCheck
{
    /// <summary>Libraries every Linux has, and the driver's libcuda.so.1, which the NVIDIA runtime mounts from the host.</summary>
    private static readonly string[] NotFromTheImage =
        ["libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "libcuda.so.1"];

    public static IReadOnlyList<string> Mismatches(string dockerfile, IReadOnlyList<string> cudaProviderNeeds, IReadOnlyList<string> tensorRtProviderNeeds)
    {
        var problems = new List<string>();
        var image = Arg(dockerfile, "CUDA_IMAGE");
        var tag = image is null ? null : CudaTag().Match(image);
        var cudart = cudaProviderNeeds.FirstOrDefault(n => n.StartsWith("libcudart.so.", StringComparison.Ordinal));
        if (cudart is null)
        {
            problems.Add($"The CUDA provider links no libcudart.so.N (it needs: {string.Join(", ", cudaProviderNeeds)}), so its CUDA major is unknown.");
        }
        else if (tag is null || !tag.Success)
        {
            problems.Add($"ARG CUDA_IMAGE='{image}' is not an nvidia/cuda:<major>.<minor>.<patch>-cudnn-runtime-<os> image, so its CUDA major cannot be compared with {cudart}.");
        }
        else if (tag.Groups["major"].Value != Major(cudart))
        {
            problems.Add($"The base image {image} carries CUDA {tag.Groups["major"].Value}, but ONNX Runtime's CUDA provider links {cudart} (CUDA {Major(cudart)}). Use an nvidia/cuda:{Major(cudart)}.x-cudnn-runtime image.");
        }

        var cudnnMajor = Arg(dockerfile, "CUDNN_MAJOR");
        var cudnn = tensorRtProviderNeeds.FirstOrDefault(n => n.StartsWith("libcudnn.so.", StringComparison.Ordinal));
        if (cudnn is not null && cudnnMajor != Major(cudnn))
        {
            problems.Add($"The Dockerfile declares CUDNN_MAJOR={cudnnMajor ?? "(missing)"}, but ONNX Runtime links {cudnn} (cuDNN {Major(cudnn)}).");
        }

        var checkedLibraries = (Arg(dockerfile, "PROVIDER_LIBRARIES") ?? string.Empty)
            .Replace("${CUDNN_MAJOR}", cudnnMajor, StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var needed = cudaProviderNeeds.Where(n => !NotFromTheImage.Contains(n, StringComparer.Ordinal)).ToList();
        if (cudnn is not null)
        {
            needed.Add(cudnn);
        }

        foreach (var library in needed.Where(n => !checkedLibraries.Contains(n, StringComparer.Ordinal)))
        {
            problems.Add($"ONNX Runtime needs {library}, but the Dockerfile's PROVIDER_LIBRARIES ({string.Join(' ', checkedLibraries)}) does not check that the base image has it.");
        }

        return problems;
    }

    /// <summary>The default of <c>ARG name=value</c> (quotes removed), or null.</summary>
    public static string? Arg(string dockerfile, string name)
    {
        var match = Regex.Match(dockerfile, $@"^ARG {Regex.Escape(name)}=(?<value>.*)$", RegexOptions.Multiline);
        return match.Success ? match.Groups["value"].Value.Trim().Trim('"') : null;
    }

    private static string Major(string soname) => soname[(soname.LastIndexOf(".so.", StringComparison.Ordinal) + 4)..].Split('.')[0];

    [GeneratedRegex(@"^nvidia/cuda:(?<major>\d+)\.\d+\.\d+-cudnn-runtime-[a-z0-9.]+(@sha256:[0-9a-f]{64})?$")]
    private static partial Regex CudaTag();
}
