using System.CommandLine;
using Serverless.Cli.Hosting;

namespace Serverless.Cli.Commands;

/// <summary>
/// <c>serve</c>: Kestrel on loopback (<see cref="ServeEdge"/>) in front of the core's protocol handler, models loaded lazily on
/// first use. Runs until Ctrl+C or SIGTERM, then drains in-flight requests.
/// </summary>
internal static class ServeCommand
{
    public const int DefaultPort = 8080;
    public const string DefaultHost = "127.0.0.1";

    /// <summary>Environment variable giving the default of --log-level.</summary>
    public const string LogLevelVariable = "SERVERLESS_LOG_LEVEL";

    /// <summary>Has no effect (serve runs on Kestrel); read only to warn a user who still sets it.</summary>
    public const string HttpServerVariable = "SERVERLESS_HTTP_SERVER";

    public static Command Create(CliConsole console, Option<bool> verbose)
    {
        var port = CommonOptions.Port("--port", "TCP port to listen on (0 picks a free one).", DefaultPort, "-p");
        var host = new Option<string>("--host")
        {
            Description = "Address to bind. Loopback by default; 0.0.0.0 exposes the server to the network.",
            DefaultValueFactory = _ => DefaultHost,
        };
        var httpServer = new Option<string>("--http-server")
        {
            Description = "No longer used: serve always runs on Kestrel. Accepted with a warning so that old scripts keep working.",
            Hidden = true,
        };
        var logLevel = new Option<string>("--log-level")
        {
            Description = $"Lowest level logged: debug, information (default: one line per request), warning (no per-request lines) or error. Default: ${LogLevelVariable}, else information (debug with --verbose).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(LogLevelVariable) is { Length: > 0 } value ? value.Trim().ToLowerInvariant() : string.Empty,
        };
        var models = CommonOptions.ModelsDir();
        var store = CommonOptions.Store();

        var command = new Command("serve", "Serve every model over HTTP (Open Inference Protocol v2).") { port, host, httpServer, logLevel, models, store };
        command.SetAction((parse, cancellationToken) =>
        {
            StartupTrace.Mark("serve command started");
            var isVerbose = parse.GetValue(verbose);
            var options = new ServeOptions
            {
                Port = parse.GetValue(port),
                Host = parse.GetValue(host) ?? DefaultHost,
                ModelsDir = CommonOptions.ResolveModelsDir(parse.GetValue(models), console),
                Store = CommonOptions.ResolveStore(parse.GetValue(store), console),
                WorkingDirectory = console.WorkingDirectory,
                Verbose = isVerbose,
            };
            var level = parse.GetValue(logLevel);
            WarnIfHttpServerChosen(console, parse.GetResult(httpServer) is not null, Environment.GetEnvironmentVariable(HttpServerVariable));
            return CommandRunner.RunAsync(console, isVerbose, ct => ServeHost.RunAsync(options with { LogLevel = ParseLogLevel(level) }, console, ct), cancellationToken);
        });
        return command;
    }

    /// <summary>One line on stderr for --http-server or SERVERLESS_HTTP_SERVER, which have no effect: serve runs on Kestrel.</summary>
    internal static void WarnIfHttpServerChosen(CliConsole console, bool optionGiven, string? variable)
    {
        if (optionGiven)
        {
            console.Error.WriteLine("Warning: --http-server is no longer used: serve always runs on Kestrel. Drop the option.");
        }
        else if (!string.IsNullOrWhiteSpace(variable))
        {
            console.Error.WriteLine($"Warning: {HttpServerVariable} is no longer used: serve always runs on Kestrel. Unset it.");
        }
    }

    /// <summary>--log-level's (or SERVERLESS_LOG_LEVEL's) value; empty for the default.</summary>
    internal static Microsoft.Extensions.Logging.LogLevel? ParseLogLevel(string? value) => value switch
    {
        null or "" => null,
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "information" or "info" => Microsoft.Extensions.Logging.LogLevel.Information,
        "warning" or "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        _ => throw new CliUsageException($"The log level '{value}' (from --log-level or {LogLevelVariable}) is not known: use debug, information, warning or error."),
    };
}
