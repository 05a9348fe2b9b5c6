using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Serverless.Cli.Hosting;

/// <summary>
/// Opt-in start-up timeline (<c>SERVERLESS_STARTUP_TRACE=1</c>): one line on stderr per phase of a start,
/// with the milliseconds since the process was exec'd and since the previous line, e.g.
/// <c>startup:    182.4 ms since exec  (+41.0)  kestrel listening</c>. "Since exec" is anchored once on
/// the kernel's start time of the process (<c>/proc/self/stat</c>, 10 ms ticks) against
/// <c>CLOCK_BOOTTIME</c>, so it is accurate to about 10 ms; the differences between lines come from
/// <see cref="Stopwatch"/> and are exact. Off, every call is one static bool test and prints nothing.
/// </summary>
internal static partial class StartupTrace
{
    public const string Variable = "SERVERLESS_STARTUP_TRACE";

    private static readonly bool s_enabled = IsOn(Environment.GetEnvironmentVariable(Variable));
    private static readonly Lock s_gate = new();
    private static long s_anchorTimestamp;
    private static double s_anchorSinceExecMs;
    private static double s_previousMs;
    private static int s_onceFlags;

    /// <summary>Phases reported once per process (the first request and the first response).</summary>
    [Flags]
    public enum Once
    {
        FirstRequest = 1,
        FirstResponse = 2,
        RuntimeLoaded = 4,
    }

    public static bool Enabled => s_enabled;

    /// <summary>"1", "true", "yes" and "on" (any case) switch the trace on; anything else leaves it off.</summary>
    public static bool IsOn(string? value) => Serverless.Core.Hosting.ServerlessSettings.ParseSwitch(value) == true;

    /// <summary>Prints one phase, when the trace is on.</summary>
    public static void Mark(string phase)
    {
        if (!s_enabled)
        {
            return;
        }

        Write(phase);
    }

    /// <summary>Prints a phase the first time it happens in this process, when the trace is on.</summary>
    public static void MarkOnce(Once which, string phase)
    {
        // Interlocked.Or returns the flags before this call: only the first caller for a phase prints it.
        if (!s_enabled || (Interlocked.Or(ref s_onceFlags, (int)which) & (int)which) != 0)
        {
            return;
        }

        Write(phase);
    }

    /// <summary>Milliseconds from the process's exec to now, or NaN where the kernel's start time is not readable.</summary>
    public static double SinceExecMilliseconds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds;
        }

        try
        {
            var startTicks = ParseStartTimeTicks(File.ReadAllText("/proc/self/stat"));
            if (ClockGetTime(ClockBootTime, out var now) != 0)
            {
                return double.NaN;
            }

            // USER_HZ is 100 on every Linux architecture .NET runs on.
            var nowMs = (now.Seconds * 1000.0) + (now.Nanoseconds / 1e6);
            return nowMs - (startTicks * 10.0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or DllNotFoundException or EntryPointNotFoundException)
        {
            return double.NaN;
        }
    }

    /// <summary>Field 22 (starttime, clock ticks since boot) of a /proc/PID/stat line; the command name may hold spaces and parentheses.</summary>
    public static long ParseStartTimeTicks(string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            throw new FormatException("no ')' after the command name in /proc/self/stat");
        }

        // After ") " come fields 3 (state), 4, ...; starttime is field 22, so index 19 here.
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19
            ? long.Parse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture)
            : throw new FormatException($"/proc/self/stat has {fields.Length + 2} fields, starttime is field 22");
    }

    private static void Write(string phase)
    {
        lock (s_gate)
        {
            if (s_anchorTimestamp == 0)
            {
                s_anchorTimestamp = Stopwatch.GetTimestamp();
                s_anchorSinceExecMs = SinceExecMilliseconds();
            }

            var ms = s_anchorSinceExecMs + Stopwatch.GetElapsedTime(s_anchorTimestamp).TotalMilliseconds;
            var delta = ms - s_previousMs;
            s_previousMs = ms;
            var writer = Console.Error;
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"startup: {ms,8:F1} ms since exec  (+{delta:F1})  [{Environment.CurrentManagedThreadId}] {phase}"));
            writer.Flush();
        }
    }

    private const int ClockBootTime = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
