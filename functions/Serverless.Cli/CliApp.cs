using System.CommandLine;
using Serverless.Cli.Commands;

namespace Serverless.Cli;

/// <summary>
/// Builds the command tree (serve, infer, models, publish, lambda) and runs it. Failures inside a command become
/// one human line on stderr and an exit code (see <see cref="ExitCodes"/>); System.CommandLine's own
/// exception handler is off so nothing prints a stack trace unless --verbose asks for one.
/// </summary>
internal static class CliApp
{
    public static Task<int> RunAsync(string[] args) => RunAsync(args, CliConsole.FromProcess(), CancellationToken.None);

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken)
    {
        var root = BuildRootCommand(console);
        Hosting.StartupTrace.Mark("command tree built");
        var configuration = new InvocationConfiguration
        {
            Output = console.Output,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,

            // Longer than the serve host's 10 s drain, so Ctrl+C lets in-flight requests finish.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(15),
        };
        var result = root.Parse(args);
        Hosting.StartupTrace.Mark("command line parsed");
        return await result.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    public static RootCommand BuildRootCommand(CliConsole console)
    {
        var verbose = CommonOptions.Verbose();
        var root = new RootCommand("Serve ONNX models over the Open Inference Protocol (KServe v2) on this machine.")
        {
            verbose,
        };
        root.Add(ServeCommand.Create(console, verbose));
        root.Add(InferCommand.Create(console, verbose));
        root.Add(ModelsCommand.Create(console, verbose));
        root.Add(PublishCommand.Create(console, verbose));
        root.Add(LambdaCommand.Create(console, verbose));
        return root;
    }
}
