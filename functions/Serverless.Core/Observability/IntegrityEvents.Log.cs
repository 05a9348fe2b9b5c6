using Microsoft.Extensions.Logging;

namespace Serverless.Core.Observability;

/// <summary>Source-generated log messages of the integrity checks, with stable event ids (2001-2099).</summary>
public sealed partial class IntegrityEvents
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Model {Model} v{Version}: the cached copy {Path} failed verification and was deleted; downloading it again. {Reason}")]
    private static partial void LogCachedArtifactRejected(ILogger logger, string model, string version, string path, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Model {Model} v{Version}: the store's copy {Source} failed verification; nothing was cached and requests get 502. {Reason}")]
    private static partial void LogDownloadRejected(ILogger logger, string model, string version, string source, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Model {Model}: the optimized graph {Path} was refused and deleted; the session is built from the verified artifact. {Reason}")]
    private static partial void LogGraphRejected(ILogger logger, string model, string path, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Model {Model} v{Version}: the verified artifact {Path} gave no usable session. {Reason}")]
    private static partial void LogSessionRejected(ILogger logger, string model, string version, string path, string reason);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Model {Model} v{Version}: downloading the artifact again after its cached copy was evicted")]
    private static partial void LogRedownloading(ILogger logger, string model, string version);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Removed {Count} orphaned temporary file(s) of interrupted downloads from {Folder}")]
    private static partial void LogOrphansRemoved(ILogger logger, int count, string folder);
}
