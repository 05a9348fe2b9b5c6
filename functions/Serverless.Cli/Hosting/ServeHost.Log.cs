using Microsoft.Extensions.Logging;

namespace Serverless.Cli.Hosting;

/// <summary>Source-generated log messages of the serve host, with stable event ids.</summary>
internal sealed partial class ServeHost
{
    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "MODEL_PRELOAD: {Model} v{Version} is loaded and ready")]
    private static partial void LogPreloaded(ILogger logger, string model, string version);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "MODEL_PRELOAD: {Model} v{Version} failed to load; requests retry it. Reason: {Reason}")]
    private static partial void LogPreloadFailed(ILogger logger, string model, string version, string reason);
}
