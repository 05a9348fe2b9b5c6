using Serverless.Core.Errors;

namespace Serverless.Cli.Commands;

/// <summary>
/// Process exit codes, stable so scripts can branch on them: 0 success, 1 a failure on our side or the
/// store's, 2 a problem with what the caller asked for (bad option, missing file, unknown model, bad
/// request), 130 interrupted (Ctrl+C), as shells do for SIGINT.
/// </summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;

    public static int For(ErrorCode code) => code.IsClientError() ? Usage : Failure;
}
