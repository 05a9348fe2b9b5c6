using Microsoft.Extensions.Logging;

namespace Serverless.Lambda.Observability;

/// <summary>
/// The core's log messages (integrity failures) as plain lines on stderr, which Lambda ships to CloudWatch
/// Logs beside the invocation lines: <c>WARN [2001] message</c>. Information and above; the function's own
/// structured lines come from <see cref="InvocationLogger"/>.
/// </summary>
public sealed class LineLogger(TextWriter output) : ILogger
{
    private readonly Lock _lock = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var level = logLevel switch
        {
            LogLevel.Information => "INFO",
            LogLevel.Warning => "WARN",
            LogLevel.Error => "ERROR",
            _ => "CRITICAL",
        };
        lock (_lock)
        {
            output.WriteLine($"{level} [{eventId.Id}] {formatter(state, exception)}");
            output.Flush();
        }
    }
}
