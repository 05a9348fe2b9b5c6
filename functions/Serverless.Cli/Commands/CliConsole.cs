namespace Serverless.Cli.Commands;

/// <summary>
/// Where a command writes (the process's stdout/stderr in production, string writers in tests), and how the
/// person invoked it: the folder relative paths are typed from, and the command they typed, for messages.
/// Commands never touch <see cref="Console"/> or the process's current directory directly so they can run
/// in-process under test.
/// </summary>
internal sealed class CliConsole
{
    /// <summary>
    /// The folder the command was typed in. build.sh sets it before it changes to the repository root, so that
    /// <c>./build.sh infer --input ../request.json</c> reads the file next to the caller, not next to the repository.
    /// </summary>
    public const string CallerDirectoryVariable = "SERVERLESS_CALLER_DIR";

    /// <summary>The command as the person typed it (build.sh sets its own <c>$0</c>, e.g. <c>./build.sh</c>).</summary>
    public const string CommandNameVariable = "SERVERLESS_COMMAND_NAME";

    /// <summary>The name messages use when the CLI is run directly.</summary>
    public const string DefaultCommandName = "serverless";

    public CliConsole(TextWriter output, TextWriter error, bool isTerminal, string? workingDirectory = null, string? commandName = null)
    {
        Output = output;
        Error = error;
        IsTerminal = isTerminal;
        WorkingDirectory = workingDirectory is { Length: > 0 } && Path.IsPathFullyQualified(workingDirectory) ? workingDirectory : Directory.GetCurrentDirectory();
        CommandName = string.IsNullOrWhiteSpace(commandName) ? DefaultCommandName : commandName.Trim();
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>True when stdout is an interactive terminal (progress bars and colours only then).</summary>
    public bool IsTerminal { get; }

    /// <summary>The absolute folder that relative paths in options are resolved against.</summary>
    public string WorkingDirectory { get; }

    /// <summary>How the person invoked the CLI (<c>serverless</c>, or <c>./build.sh</c> through build.sh), for usage hints.</summary>
    public string CommandName { get; }

    public static CliConsole FromProcess() => new(
        Console.Out,
        Console.Error,
        !Console.IsOutputRedirected,
        Environment.GetEnvironmentVariable(CallerDirectoryVariable),
        Environment.GetEnvironmentVariable(CommandNameVariable));

    /// <summary><paramref name="path"/> as an absolute path, relative ones taken from <see cref="WorkingDirectory"/>.</summary>
    public string FullPath(string path) => Path.GetFullPath(path, WorkingDirectory);
}
