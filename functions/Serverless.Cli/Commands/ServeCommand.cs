using System.CommandLine;
using Serverless.Cli.Hosting;

namespace Serverless.Cli.Commands;

/// <summary>
/// <c>serve</c>: an HTTP/1.1 server on loopback (<see cref="HttpServerKind"/>) in front of the core's protocol handler, models loaded lazily on
/// first use. Runs until Ctrl+C or SIGTERM, then drains in-flight requests.
/// </summary>
internal static class ServeCommand
{
    public const int DefaultPort = 8080;
    public const string DefaultHost = "127.0.0.1";

    /// <summary>Environment variable giving the default of --log-level.</summary>
    public const string LogLevelVariable = "SERVERLESS_LOG_LEVEL";

    /// <summary>Environment variable giving the default of --http-server (sockets or kestrel).</summary>
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
            Description = $"HTTP server in front of the models: 'sockets' (default; blocking sockets, one thread per connection, the lowest per-request cost and start-up) or 'kestrel' (ASP.NET Core's server, as the Azure handler and GPU server use). Default: ${HttpServerVariable}, else sockets.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(HttpServerVariable) is { Length: > 0 } value ? value.Trim().ToLowerInvariant() : "sockets",
        };
        httpServer.AcceptOnlyFromAmong("sockets", "kestrel");
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
            var server = parse.GetValue(httpServer);
            var level = parse.GetValue(logLevel);
            return CommandRunner.RunAsync(console, isVerbose, ct => ServeHost.RunAsync(options with { HttpServer = ParseHttpServer(server), LogLevel = ParseLogLevel(level) }, console, ct), cancellationToken);
        });
        return command;
    }

    /// <summary>The option's value (or SERVERLESS_HTTP_SERVER's, which the parser does not check) as a kind.</summary>
    internal static HttpServerKind ParseHttpServer(string? value) => value switch
    {
        "sockets" => HttpServerKind.Sockets,
        "kestrel" => HttpServerKind.Kestrel,
        _ => throw new CliUsageException($"The HTTP server '{value}' (from --http-server or {HttpServerVariable}) is not known: use sockets or kestrel."),
    };

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
