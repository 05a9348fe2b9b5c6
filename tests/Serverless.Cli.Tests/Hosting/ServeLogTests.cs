using Microsoft.Extensions.Logging;
using Serverless.Cli.Hosting;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>The serve host's own log: the console logger's single-line layout, its level filters, and nothing lost on dispose.</summary>
public sealed class ServeLogTests
{
    [Fact]
    public void Format_IsTheSingleLineConsoleLayout()
    {
        var line = ServeLog.Format(new DateTime(2026, 11, 22, 1, 2, 3, DateTimeKind.Local), LogLevel.Information, "serverless", new EventId(1), "POST /v2/x 200 1.5 ms", null);

        Assert.Equal("01:02:03 info: serverless[1] POST /v2/x 200 1.5 ms", line);
    }

    [Fact]
    public void Format_WithException_KeepsItOnTheSameLine()
    {
        var line = ServeLog.Format(DateTime.Now, LogLevel.Error, "Microsoft.AspNetCore.Server.Kestrel", new EventId(13), "boom", new InvalidOperationException("first\nsecond"));

        Assert.DoesNotContain('\n', line);
        Assert.Contains("fail: Microsoft.AspNetCore.Server.Kestrel[13] boom System.InvalidOperationException: first second", line);
    }

    [Theory]
    [InlineData("serverless", false, LogLevel.Information)]
    [InlineData("serverless", true, LogLevel.Debug)]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel", false, LogLevel.Warning)]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel", true, LogLevel.Information)]
    [InlineData("System.Net.Sockets", false, LogLevel.Warning)]
    public void MinimumLevel_OursFromInformation_FrameworkFromWarning(string category, bool verbose, LogLevel expected)
    {
        using var log = new ServeLog(TextWriter.Null, verbose);

        Assert.Equal(expected, log.MinimumLevel(category));
        Assert.False(log.CreateLogger(category).IsEnabled(expected - 1));
        Assert.True(log.CreateLogger(category).IsEnabled(expected));
    }

    [Theory]
    [InlineData("serverless", false, LogLevel.Warning, LogLevel.Warning)]
    [InlineData("serverless", true, LogLevel.Error, LogLevel.Error)]
    [InlineData("serverless", false, LogLevel.Debug, LogLevel.Debug)]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel", false, LogLevel.Debug, LogLevel.Warning)]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel", false, LogLevel.Error, LogLevel.Error)]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel", true, LogLevel.Debug, LogLevel.Debug)]
    public void MinimumLevel_WithALogLevel_OursFollowsIt_FrameworkNeverBelowWarningUnlessVerbose(string category, bool verbose, LogLevel chosen, LogLevel expected)
    {
        using var log = new ServeLog(TextWriter.Null, verbose, chosen);

        Assert.Equal(expected, log.MinimumLevel(category));
    }

    [Fact]
    public async Task LogLevelWarning_DropsTheRequestLines()
    {
        var output = new StringWriter();
        var log = new ServeLog(output, verbose: false, LogLevel.Warning);
        var logger = log.CreateLogger("serverless");
        logger.Log(LogLevel.Information, new EventId(1), 0, null, static (_, _) => "POST /v2/models/m/infer 200 1.0 ms");
        logger.Log(LogLevel.Warning, new EventId(3), 0, null, static (_, _) => "MODEL_PRELOAD: m failed");
        await log.DisposeAsync();

        Assert.DoesNotContain("POST", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("warn: serverless[3] MODEL_PRELOAD: m failed", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_WritesEveryQueuedLineInOrder()
    {
        var output = new StringWriter();
        var log = new ServeLog(output, verbose: false);
        var logger = log.CreateLogger("serverless");
        for (var i = 0; i < 5000; i++)
        {
            logger.Log(LogLevel.Information, new EventId(1), i, null, static (n, _) => $"line {n}");
        }

        logger.Log(LogLevel.Debug, new EventId(1), -1, null, static (_, _) => "filtered out");
        await log.DisposeAsync();

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5000, lines.Length);
        Assert.EndsWith("line 0", lines[0].TrimEnd('\r'));
        Assert.EndsWith("line 4999", lines[^1].TrimEnd('\r'));
        Assert.DoesNotContain("filtered out", output.ToString());
    }

    [Fact]
    public void AddProvider_IsRefused()
    {
        using var log = new ServeLog(TextWriter.Null, verbose: false);

        Assert.Throws<NotSupportedException>(() => log.AddProvider(null!));
    }
}
