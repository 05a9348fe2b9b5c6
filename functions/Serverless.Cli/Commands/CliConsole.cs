namespace Serverless.Cli.Commands;

/// <summary>
/// Where a command writes: the process's stdout/stderr in production, string writers in tests. Commands
/// never touch <see cref="Console"/> directly so they can run in-process under test.
/// </summary>
internal sealed class CliConsole
{
    public CliConsole(TextWriter output, TextWriter error, bool isTerminal)
    {
        Output = output;
        Error = error;
        IsTerminal = isTerminal;
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>True when stdout is an interactive terminal (progress bars and colours only then).</summary>
    public bool IsTerminal { get; }

    public static CliConsole FromProcess() => new(Console.Out, Console.Error, !Console.IsOutputRedirected);
}
