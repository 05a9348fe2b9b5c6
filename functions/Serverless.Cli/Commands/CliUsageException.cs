namespace Serverless.Cli.Commands;

/// <summary>
/// A mistake in how the CLI was called (a missing file, an out-of-range port) that no model or request is
/// involved in; reported as one line with exit code 2.
/// </summary>
internal sealed class CliUsageException : Exception
{
    public CliUsageException(string message) : base(message)
    {
    }

    public CliUsageException()
    {
    }

    public CliUsageException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
