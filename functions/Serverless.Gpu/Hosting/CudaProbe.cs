using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;

namespace Serverless.Gpu.Hosting;

/// <summary>
/// Finds out at start-up, before any model is loaded, which execution provider this process's sessions get:
/// it creates one session asking for CUDA from a one-node model (Identity over a float [1]) built here, so the
/// answer does not wait for the first request. When CUDA is required and cannot be added, start-up fails with
/// ONNX Runtime's reason and the library that did not load (e.g. libcublasLt.so.13).
/// </summary>
internal static partial class CudaProbe
{
    private static readonly Lazy<string?> LibraryDiagnosis = new(DiagnoseProviderLibrary);

    public const string ProbeModel = "cuda-probe";

    /// <summary>The provider sessions run on, and why it is not CUDA (null when it is).</summary>
    public static (string Provider, string? FallbackReason) Run(IInferenceSessionFactory factory, bool requireCuda)
    {
        ArgumentNullException.ThrowIfNull(factory);
        using var session = factory.Create(ProbeModel, IdentityModel(), SessionSettings.Default with { PreferCuda = true });
        var reason = ExecutionProviderFactory.FallbackReason(session, preferCuda: true);
        if (reason is not null && requireCuda)
        {
            throw Required(reason);
        }

        return (session.ExecutionProvider, reason);
    }

    /// <summary>The start-up (or load) failure of a server that requires CUDA and cannot add it.</summary>
    public static InferenceException Required(string reason, string? model = null) => new(ErrorCode.RuntimeFailure,
        $"GPU_REQUIRED=true, but ONNX Runtime could not add the CUDA execution provider{(model is null ? string.Empty : $" for model '{model}'")}: " +
        $"{reason.Replace("; running on CPUExecutionProvider.", ".", StringComparison.Ordinal)} " +
        "To fix: run on a host whose NVIDIA driver supports CUDA 13 with the GPU passed to the container (ECS GpuCount, --gpus all), " +
        "in the image built from functions/Serverless.Gpu/Dockerfile (CUDA 13 and cuDNN 9 libraries); or set GPU_REQUIRED=false to serve on the CPU.")
    { Model = model };

    /// <summary>
    /// Which library stops the CUDA provider from loading, or null when it loads. ONNX Runtime's status says only
    /// "Failed to load shared library" (the name is in its log line alone), so the provider next to the loaded
    /// libonnxruntime is loaded here once, and the loader's error names the first missing dependency.
    /// </summary>
    public static string? Diagnosis => LibraryDiagnosis.Value;

    private static string? DiagnoseProviderLibrary()
    {
        string runtime;
        try
        {
            runtime = OrtRuntime.LibraryPath;
        }
        catch (InferenceException)
        {
            return null;
        }

        var provider = Path.Combine(Path.GetDirectoryName(runtime) ?? ".", "libonnxruntime_providers_cuda.so");
        if (!File.Exists(provider))
        {
            return $"The ONNX Runtime in use ({runtime}) has no libonnxruntime_providers_cuda.so next to it: it is a CPU-only build. The GPU server ships Microsoft.ML.OnnxRuntime.Gpu.Linux's.";
        }

        try
        {
            NativeLibrary.Free(NativeLibrary.Load(provider));
            return null;
        }
        catch (DllNotFoundException ex)
        {
            var missing = MissingLibrary().Match(ex.Message);
            return missing.Success
                ? $"Loading {provider} failed: {missing.Groups["library"].Value} was not found (cannot open shared object file)."
                : $"Loading {provider} failed: {ex.Message}";
        }
    }

    [GeneratedRegex(@"(?<library>lib[\w.+-]+\.so[\w.]*): cannot open shared object file")]
    private static partial Regex MissingLibrary();

    /// <summary>ONNX protobuf of y = Identity(x), x and y float [1], IR version 8, opset 13.</summary>
    internal static byte[] IdentityModel()
    {
        static byte[] Tensor(string name) => Bytes(1, Text(name))
            .Concat(Bytes(2, Bytes(1, Varint(1, 1).Concat(Bytes(2, Bytes(1, Varint(1, 1)))).ToArray()))).ToArray();
        var node = Bytes(1, Text("x")).Concat(Bytes(2, Text("y"))).Concat(Bytes(4, Text("Identity"))).ToArray();
        var graph = Bytes(1, node).Concat(Bytes(2, Text("probe"))).Concat(Bytes(11, Tensor("x"))).Concat(Bytes(12, Tensor("y"))).ToArray();
        return Varint(1, 8).Concat(Bytes(7, graph)).Concat(Bytes(8, Varint(2, 13))).ToArray();
    }

    private static byte[] Text(string value) => System.Text.Encoding.UTF8.GetBytes(value);

    /// <summary>A length-delimited field (wire type 2); every length here is under 128, so one byte.</summary>
    private static byte[] Bytes(int field, byte[] payload) =>
        payload.Length < 128 ? [(byte)((field << 3) | 2), (byte)payload.Length, .. payload] : throw new InvalidOperationException("The probe model's fields are under 128 bytes each.");

    /// <summary>A varint field (wire type 0) with a value under 128.</summary>
    private static byte[] Varint(int field, byte value) => [(byte)(field << 3), value];
}
