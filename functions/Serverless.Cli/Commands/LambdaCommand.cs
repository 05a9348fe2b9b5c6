using System.CommandLine;
using Serverless.Lambda.Emulator;

namespace Serverless.Cli.Commands;

/// <summary>
/// <c>lambda</c>: runs the exact artifact that ships to AWS (the published <c>bootstrap</c>) as a child process
/// against a loopback Lambda Runtime API, behind an HTTP front door that turns each request into an API
/// Gateway HTTP API (payload 2.0) event — like <c>sam local start-api</c>, without Docker. The function
/// serves one model (<c>MODEL_NAME</c>), as each deployed function does.
/// </summary>
internal static class LambdaCommand
{
    public static Command Create(CliConsole console, Option<bool> verbose)
    {
        var model = new Option<string>("--model") { Description = "The model this function serves (MODEL_NAME).", Required = true, HelpName = "NAME" };
        var port = CommonOptions.Port("--port", "Port of the HTTP front door on 127.0.0.1 (0 picks a free one).", 9000);
        var bootstrap = new Option<string?>("--bootstrap")
        {
            Description = "Path of the published bootstrap. Default: artifacts/lambda/publish/bootstrap (made by ./build.sh package).",
            HelpName = "PATH",
        };
        var preload = new Option<bool>("--preload") { Description = "Load the model during init (MODEL_PRELOAD) instead of on the first request." };
        var timeout = new Option<int>("--timeout") { Description = "Function timeout in seconds.", DefaultValueFactory = _ => 30 };
        var store = CommonOptions.Store();
        var models = CommonOptions.ModelsDir();
        var command = new Command("lambda", "Run the packaged Lambda bootstrap locally behind an HTTP API 2.0 front door.")
        {
            model, port, bootstrap, preload, timeout, store, models,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var isVerbose = parse.GetValue(verbose);
            var options = new LambdaOptions(
                parse.GetValue(model)!,
                parse.GetValue(port),
                parse.GetValue(bootstrap) is { } path ? console.FullPath(path) : Path.GetFullPath(Path.Combine("artifacts", "lambda", "publish", "bootstrap")),
                parse.GetValue(preload),
                parse.GetValue(timeout),
                CommonOptions.ResolveStore(parse.GetValue(store), console) ?? Environment.GetEnvironmentVariable(CommonOptions.ModelStoreVariable),
                CommonOptions.ResolveModelsDir(parse.GetValue(models), console) ?? Environment.GetEnvironmentVariable(CommonOptions.ModelsDirVariable));
            return CommandRunner.RunAsync(console, isVerbose, ct => RunAsync(console, options, ct), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, LambdaOptions options, CancellationToken cancellationToken)
    {
        if (!File.Exists(options.Bootstrap))
        {
            throw new CliUsageException($"No bootstrap at {options.Bootstrap}. Run ./build.sh package first, or pass --bootstrap PATH.");
        }

        if (options.TimeoutSeconds is < 1 or > 900)
        {
            throw new CliUsageException($"--timeout must be between 1 and 900 seconds (Lambda's limit), got {options.TimeoutSeconds}.");
        }

        var environment = new Dictionary<string, string?>
        {
            ["MODEL_NAME"] = options.Model,
            ["MODEL_PRELOAD"] = options.Preload ? options.Model : null,
            ["MODEL_STORE"] = options.Store,
            ["SERVERLESS_MODELS_DIR"] = options.ModelsDir,
            ["MODEL_CACHE_DIR"] = Path.Combine(Path.GetTempPath(), "serverless-lambda-cache"),
            ["AWS_LAMBDA_FUNCTION_NAME"] = options.Model, // the emulator's default is "local"; logs read better with the model
        };

        await using var emulation = await LambdaEmulation.StartAsync(
            options.Bootstrap, environment, options.Port, TimeSpan.FromSeconds(options.TimeoutSeconds),
            line => console.Error.WriteLine(line), cancellationToken).ConfigureAwait(false);
        await console.Output.WriteLineAsync($"Lambda emulation of '{options.Model}' ({options.Bootstrap})").ConfigureAwait(false);
        var stopped = Task.Delay(Timeout.Infinite, cancellationToken);
        var runtime = emulation.Runtime;
        var exited = emulation.Process.Exited;

        // Init ends with the bootstrap's first call for an event, or with its /init/error report (then it exits).
        var initEnd = await Task.WhenAny(runtime.FirstNextRequest, runtime.InitError, exited, stopped).ConfigureAwait(false);
        if (initEnd == runtime.InitError || initEnd == exited)
        {
            return await ReportInitFailureAsync(console, options.Model, runtime, exited).ConfigureAwait(false);
        }

        if (initEnd == runtime.FirstNextRequest)
        {
            await console.Output.WriteLineAsync($"Listening on {emulation.FrontDoor.Url} (HTTP API 2.0 events; Ctrl+C stops)").ConfigureAwait(false);
            if (await Task.WhenAny(exited, stopped).ConfigureAwait(false) == exited)
            {
                await console.Error.WriteLineAsync($"serverless: the bootstrap exited with code {await exited.ConfigureAwait(false)} while serving; its output is above.").ConfigureAwait(false);
                return ExitCodes.Failure;
            }
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// An init failure, as Lambda reports it to every invocation of a function whose init failed: the error
    /// document the bootstrap posted to /runtime/init/error (or, with none, the bootstrap's exit code). Exits
    /// at once instead of serving requests that could only time out.
    /// </summary>
    private static async Task<int> ReportInitFailureAsync(CliConsole console, string model, RuntimeApiEmulator runtime, Task<int> exited)
    {
        // The bootstrap reports, then exits: give the exit a moment so its code is part of the report.
        await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        var exit = exited.IsCompleted ? $"; the bootstrap exited with code {await exited.ConfigureAwait(false)}" : string.Empty;
        if (runtime.InitError.IsCompleted)
        {
            var error = await runtime.InitError.ConfigureAwait(false);
            await console.Error.WriteLineAsync($"serverless: the function '{model}' failed its init{exit}. Lambda answers every invocation with this error ({error.ErrorType}):").ConfigureAwait(false);
            await console.Error.WriteLineAsync(error.BodyText).ConfigureAwait(false);
        }
        else
        {
            await console.Error.WriteLineAsync($"serverless: the function '{model}' failed its init{exit} without reporting an error to /runtime/init/error (Lambda reports this as Runtime.ExitError); its output is above.").ConfigureAwait(false);
        }

        return ExitCodes.Failure;
    }

    private sealed record LambdaOptions(string Model, int Port, string Bootstrap, bool Preload, int TimeoutSeconds, string? Store, string? ModelsDir);
}
