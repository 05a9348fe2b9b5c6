using Microsoft.Extensions.Logging;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;

namespace Serverless.Gpu.Hosting;

/// <summary>
/// Creates sessions through the real factory. When CUDA is required (GPU_REQUIRED), a session that asked for
/// CUDA and runs elsewhere is disposed and its load fails with ONNX Runtime's reason. Otherwise the first such
/// session logs one warning with the reason. Once per server (one server per process): every later model falls
/// back for the same reason, and repeating it would only bury other warnings.
/// </summary>
internal sealed partial class ExecutionProviderFactory(IInferenceSessionFactory inner, ILogger logger, bool requireCuda) : IInferenceSessionFactory
{
    private int _warned;

    public IInferenceSession Create(string modelName, string modelPath, SessionSettings settings) =>
        Observe(modelName, settings, inner.Create(modelName, modelPath, settings));

    public IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings) =>
        Observe(modelName, settings, inner.Create(modelName, modelBytes, settings));

    /// <summary>Why a session that asked for CUDA runs elsewhere, with the library that did not load; null when it got what it asked for.</summary>
    public static string? FallbackReason(IInferenceSession session, bool preferCuda) => session switch
    {
        OnnxSession { FallbackReason: { } reason } => CudaProbe.Diagnosis is { } diagnosis ? $"{reason} {diagnosis}" : reason,
        _ when preferCuda && session.ExecutionProvider != OnnxSessionBuilderNames.Cuda =>
            $"CUDA was requested but the session runs on {session.ExecutionProvider}.",
        _ => null,
    };

    private IInferenceSession Observe(string modelName, SessionSettings settings, IInferenceSession session)
    {
        if (settings.PreferCuda && FallbackReason(session, preferCuda: true) is { } reason)
        {
            if (requireCuda)
            {
                session.Dispose();
                throw CudaProbe.Required(reason, modelName);
            }

            if (Interlocked.Exchange(ref _warned, 1) == 0)
            {
                LogCudaFallback(logger, modelName, session.ExecutionProvider, reason);
            }
        }

        return session;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "CUDA is not available, so model '{Model}' and every model after it run on {Provider}. Reason: {Reason} " +
                  "GPU_REQUIRED=false allows this. On a GPU host, check that the container sees the GPU (ECS GpuCount, nvidia-container-toolkit) and that the image is functions/Serverless.Gpu/Dockerfile's (CUDA 13, cuDNN 9). This warning is logged once per process.")]
    private static partial void LogCudaFallback(ILogger logger, string model, string provider, string reason);
}

/// <summary>Execution provider names as ONNX Runtime spells them.</summary>
internal static class OnnxSessionBuilderNames
{
    public const string Cuda = "CUDAExecutionProvider";
    public const string Cpu = "CPUExecutionProvider";
}
