using Serverless.Core.Storage;

namespace Serverless.Cli.Hosting;

/// <summary>What <c>serve</c> was asked for, with defaults already resolved from options and environment.</summary>
internal sealed record ServeOptions
{
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 lets the OS pick a free port; the chosen one is printed on start.</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Absolute path of the manifests folder (or a folder of bare *.onnx files); null for the settings' default.</summary>
    public string? ModelsDir { get; init; }

    /// <summary>Store URI, or null for the settings' default.</summary>
    public string? Store { get; init; }

    /// <summary>The folder the command was typed in: relative paths in MODEL_STORE, SERVERLESS_MODELS_DIR and MODEL_CACHE_DIR resolve against it; null for the process's.</summary>
    public string? WorkingDirectory { get; init; }

    public bool Verbose { get; init; }

    /// <summary>--log-level / SERVERLESS_LOG_LEVEL: the lowest level serve logs at; null for Information (Debug with --verbose).</summary>
    public Microsoft.Extensions.Logging.LogLevel? LogLevel { get; init; }

    /// <summary>MODEL_PRELOAD for this server (comma-separated names, or *); null reads the environment's.</summary>
    public string? Preload { get; init; }

    /// <summary>Wraps the verified model cache (tests gate or fail loads with it); null for none.</summary>
    public Func<IModelArtifactSource, IModelArtifactSource>? WrapArtifactSource { get; init; }

    /// <summary>Where the protocol handler reports an unexpected failure (answered with a 500); null for nowhere.</summary>
    public Action<Exception>? OnUnexpectedError { get; init; }

    /// <summary>Request body limit the protocol handler and Kestrel enforce; null keeps the handler's default (64 MiB).</summary>
    public long? MaxRequestBytes { get; init; }

    /// <summary>The request body limit in force: <see cref="MaxRequestBytes"/>, else the protocol handler's default.</summary>
    public long RequestLimitBytes => MaxRequestBytes ?? new Serverless.Core.Protocol.ProtocolOptions().MaxRequestBytes;
}
