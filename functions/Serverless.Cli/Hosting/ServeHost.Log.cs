using Microsoft.Extensions.Logging;

namespace Serverless.Cli.Hosting;

/// <summary>Source-generated log messages of the serve host, with stable event ids.</summary>
internal sealed partial class ServeHost
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Path} {Status} {Milliseconds:F1} ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, double milliseconds);
}
