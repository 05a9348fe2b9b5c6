namespace Serverless.Core.Observability;

/// <summary>
/// Time spent loading models and running them, accumulated across threads until <see cref="Take"/> reads
/// and resets it. Hosts take a snapshot per invocation for their structured log and metrics.
/// </summary>
public sealed class InferenceTimings
{
    private long _loadTicks;
    private long _runTicks;
    private long _runs;
    private long _loads;

    public void AddLoad(TimeSpan elapsed)
    {
        Interlocked.Add(ref _loadTicks, elapsed.Ticks);
        Interlocked.Increment(ref _loads);
    }

    public void AddRun(TimeSpan elapsed)
    {
        Interlocked.Add(ref _runTicks, elapsed.Ticks);
        Interlocked.Increment(ref _runs);
    }

    /// <summary>Returns the totals since the last call and starts again from zero.</summary>
    public TimingSnapshot Take() => new(
        TimeSpan.FromTicks(Interlocked.Exchange(ref _loadTicks, 0)).TotalMilliseconds,
        Interlocked.Exchange(ref _loads, 0),
        TimeSpan.FromTicks(Interlocked.Exchange(ref _runTicks, 0)).TotalMilliseconds,
        Interlocked.Exchange(ref _runs, 0));
}

/// <summary>Totals of one <see cref="InferenceTimings.Take"/>: milliseconds and counts of loads and runs.</summary>
public readonly record struct TimingSnapshot(double LoadMilliseconds, long Loads, double RunMilliseconds, long Runs);
