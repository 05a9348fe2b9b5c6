using Microsoft.Extensions.Logging;

namespace Serverless.Gpu;

/// <summary>Source-generated log messages of the GPU server, with stable event ids (1001+ live with their types).</summary>
public sealed partial class GpuServer
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Serving {Models} on {Address} with {Provider} (CUDA fallback reason: {FallbackReason}); models load on first use unless MODEL_PRELOAD names them.")]
    private static partial void LogListening(ILogger logger, string models, string address, string provider, string fallbackReason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Preloading model '{Model}' failed; it stays FAILED and a request retries it. {Reason}")]
    private static partial void LogPreloadFailed(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Unexpected error while handling a request; the client got a 500.")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
