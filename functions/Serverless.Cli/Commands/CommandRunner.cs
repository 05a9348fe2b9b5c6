using Serverless.Core.Errors;

namespace Serverless.Cli.Commands;

/// <summary>
/// Runs a command body and turns failures into one human line on stderr and an exit code. Stack traces
/// appear only with --verbose: a person running the CLI wants to know what to fix, not where it broke.
/// </summary>
internal static class CommandRunner
{
    public static async Task<int> RunAsync(CliConsole console, bool verbose, Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync($"{console.CommandName}: interrupted").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (InferenceException ex)
        {
            await WriteErrorAsync(console, verbose, ex.Message, ex).ConfigureAwait(false);
            return ExitCodes.For(ex.Code);
        }
        catch (CliUsageException ex)
        {
            await WriteErrorAsync(console, verbose, ex.Message, ex).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await WriteErrorAsync(console, verbose, ex.Message, ex).ConfigureAwait(false);
            return ExitCodes.Failure;
        }
#pragma warning disable CA1031 // The CLI's last line of defence: any failure becomes a message and an exit code.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var hint = verbose ? string.Empty : " (run with --verbose for details)";
            await WriteErrorAsync(console, verbose, $"unexpected error: {ex.Message}{hint}", ex).ConfigureAwait(false);
            return ExitCodes.Failure;
        }
    }

    private static async Task WriteErrorAsync(CliConsole console, bool verbose, string message, Exception ex)
    {
        await console.Error.WriteLineAsync($"{console.CommandName}: {message}").ConfigureAwait(false);
        if (verbose)
        {
            await console.Error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
        }
    }
}
