using System.Diagnostics;
using System.Text;

namespace Serverless.Lambda.Emulator;

/// <summary>
/// Measures cold starts of a bootstrap honestly, one fresh process per sample: exec to the first
/// <c>/next</c> (init: runtime start, settings, model preload when enabled) and first <c>/next</c> to the
/// first response (the first invocation, including a lazy model load when preload is off).
/// </summary>
public static class ColdStartDriver
{
    /// <summary>
    /// Starts <paramref name="bootstrapPath"/> <paramref name="runs"/> times (under <paramref name="launcher"/> when given,
    /// e.g. <c>node</c> for a Node.js runtime script) and invokes <paramref name="payload"/> once per start.
    /// </summary>
    public static async Task<IReadOnlyList<ColdStartSample>> MeasureAsync(string bootstrapPath, IReadOnlyDictionary<string, string?> environment, string payload, int runs, IReadOnlyList<string>? launcher = null, CancellationToken cancellationToken = default)
    {
        var samples = new List<ColdStartSample>(runs);
        var body = Encoding.UTF8.GetBytes(payload);
        for (var i = 0; i < runs; i++)
        {
            await using var emulator = await RuntimeApiEmulator.StartAsync(0, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            await using var process = LambdaProcess.Start(bootstrapPath, emulator.Endpoint, environment, launcher: launcher);
            var pending = emulator.InvokeAsync(body, TimeSpan.FromMinutes(2), null, cancellationToken);
            await emulator.FirstNextRequest.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
            var init = clock.Elapsed;
            var result = await pending.ConfigureAwait(false);
            var total = clock.Elapsed;
            if (result.IsError)
            {
                throw new InvalidOperationException($"cold start {i + 1} failed: {result.BodyText}\n{string.Join('\n', process.StandardError)}");
            }

            samples.Add(new ColdStartSample(init, total - init, total, process.ReadPeakResidentBytes()));
        }

        return samples;
    }

    /// <summary>Median of a selector over the samples.</summary>
    public static TimeSpan Median(IReadOnlyList<ColdStartSample> samples, Func<ColdStartSample, TimeSpan> selector)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var sorted = samples.Select(selector).Order().ToArray();
        return sorted.Length == 0 ? TimeSpan.Zero : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>One cold start: init (exec to first /next), first invocation, their sum, and the peak RSS after it.</summary>
public sealed record ColdStartSample(TimeSpan Init, TimeSpan FirstInvoke, TimeSpan Total, long? PeakResidentBytes);
