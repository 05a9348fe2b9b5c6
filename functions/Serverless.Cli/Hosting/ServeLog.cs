using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The serve host's log: one line per message, <c>HH:mm:ss level: category[event] message</c> (the console
/// logger's single-line layout), written to the command's output by one background writer so a request
/// never waits on the terminal. Our own category logs from Information (Debug with --verbose); Kestrel and
/// the rest of Microsoft.* only from Warning (Information with --verbose). A much smaller thing to start than
/// Microsoft.Extensions.Logging's factory with the console provider and its options machinery.
/// <see cref="DisposeAsync"/> writes out everything queued.
/// </summary>
internal sealed class ServeLog : ILoggerFactory, IAsyncDisposable
{
    private const int QueueLength = 1024;
    private readonly TextWriter _output;
    private readonly bool _verbose;
    private readonly LogLevel? _ours;
    private readonly Channel<string> _lines = Channel.CreateBounded<string>(new BoundedChannelOptions(QueueLength)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly Task _writer;

    /// <param name="output">Where lines go (the command's output).</param>
    /// <param name="verbose">--verbose: Debug for our category, Information for Microsoft.*.</param>
    /// <param name="minimum">--log-level: the lowest level our category logs at (Warning drops the per-request lines); null for the default.</param>
    public ServeLog(TextWriter output, bool verbose, LogLevel? minimum = null)
    {
        // Shared with the banner and shutdown lines; Console.Out already is synchronized, test writers are not.
        _output = TextWriter.Synchronized(output);
        _verbose = verbose;
        _ours = minimum;
        _writer = Task.Run(WriteLinesAsync);
    }

    /// <summary>The lowest level a category logs at.</summary>
    public LogLevel MinimumLevel(string category)
    {
        ArgumentNullException.ThrowIfNull(category);
        var microsoft = category.StartsWith("Microsoft", StringComparison.Ordinal) || category.StartsWith("System", StringComparison.Ordinal);
        if (_ours is { } chosen)
        {
            return microsoft && !_verbose ? (LogLevel)Math.Max((int)chosen, (int)LogLevel.Warning) : chosen;
        }

        return (microsoft, _verbose) switch
        {
            (true, false) => LogLevel.Warning,
            (true, true) => LogLevel.Information,
            (false, false) => LogLevel.Information,
            (false, true) => LogLevel.Debug,
        };
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName, MinimumLevel(categoryName));

    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("The serve log writes to the console only.");

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    void IDisposable.Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Formats one entry the way the single-line console logger does.</summary>
    public static string Format(DateTime time, LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        var line = new StringBuilder(64 + message.Length);
        line.Append(time.ToString("HH:mm:ss ", CultureInfo.InvariantCulture))
            .Append(LevelText(level)).Append(": ").Append(category)
            .Append('[').Append(eventId.Id.ToString(CultureInfo.InvariantCulture)).Append("] ")
            .Append(message);
        if (exception is not null)
        {
            line.Append(' ').Append(exception.ToString().ReplaceLineEndings(" "));
        }

        return line.ToString();
    }

    private static string LevelText(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    private void Enqueue(string line)
    {
        if (!_lines.Writer.TryWrite(line))
        {
            // Full (the output is slower than the requests): wait for room, as the console logger does;
            // completed (shutting down): the line is dropped.
            _lines.Writer.WriteAsync(line).AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default).Wait();
        }
    }

    private async Task WriteLinesAsync()
    {
        var reader = _lines.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var line))
            {
                await _output.WriteLineAsync(line).ConfigureAwait(false);
            }

            await _output.FlushAsync().ConfigureAwait(false);
        }
    }

    private sealed class Logger(ServeLog log, string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (!IsEnabled(logLevel))
            {
                return;
            }

            log.Enqueue(Format(DateTime.Now, logLevel, category, eventId, formatter(state, exception), exception));
        }
    }
}
