using System.CommandLine;
using System.CommandLine.Help;
using Serverless.Cli.Commands;

namespace Serverless.Cli;

/// <summary>
/// Builds the command tree (serve, infer, models, publish, lambda) and runs it. A mistake on the command line
/// (an unknown command, a bad --port, a missing option) is one line on stderr and exit code 2, without the
/// help text; <c>--help</c> lists every command and option (<see cref="CliHelp"/>). Failures inside a command
/// become one human line on stderr and an exit code (see <see cref="ExitCodes"/>); System.CommandLine's own
/// exception handler is off so nothing prints a stack trace unless --verbose asks for one.
/// </summary>
internal static class CliApp
{
    public static Task<int> RunAsync(string[] args) => RunAsync(args, CliConsole.FromProcess(), CancellationToken.None);

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
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
        if (args.Length == 0)
        {
            // No command at all: the help is what the person needs, and the exit code says nothing ran.
            await console.Error.WriteAsync(CliHelp.Render(root, root, console.CommandName)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        if (result.Errors.Count > 0 && result.Action is not CliHelp)
        {
            await console.Error.WriteLineAsync(ParseErrorLine(root, result, args, console.CommandName)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

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
        foreach (var help in root.Options.OfType<HelpOption>())
        {
            help.Action = new CliHelp(console);
        }

        return root;
    }

    /// <summary>
    /// One line for what is wrong with the command line, with where to look next; an unknown command is named
    /// as such (the parser calls it an "unrecognized command or argument").
    /// </summary>
    internal static string ParseErrorLine(RootCommand root, ParseResult result, string[] args, string commandName)
    {
        if (args.Length > 0 && !args[0].StartsWith('-') && !root.Subcommands.Any(c => c.Name == args[0] || c.Aliases.Contains(args[0])))
        {
            return $"{commandName}: unknown command '{args[0]}'. `{commandName} --help` lists the commands and their options.";
        }

        var command = result.CommandResult.Command;
        var where = ReferenceEquals(command, root) ? string.Empty : " " + command.Name;
        var errors = string.Join(" ", result.Errors.Select(e => e.Message.TrimEnd('.') + "."));
        return $"{commandName}{where}: {errors} `{commandName}{where} --help` lists its options.";
    }
}
