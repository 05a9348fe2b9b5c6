namespace Serverless.Bench.Driver;

/// <summary>
/// Runs several measurements round-robin, one sample of each per iteration, so that every lane sees the
/// same machine load: on a shared, noisy host the ratios between lanes stay meaningful even when the
/// absolute figures drift. Sequential: only one thing is measured at a time.
/// </summary>
internal static class Interleaver
{
    public static async Task<Stats[]> RunAsync(IReadOnlyList<Func<Task<double>>> lanes, int warmup, int iterations, int settleMs = 0)
    {
        for (var i = 0; i < warmup; i++)
        {
            foreach (var lane in lanes)
            {
                await lane().ConfigureAwait(false);
            }
        }

        var samples = lanes.Select(_ => new List<double>(iterations)).ToArray();
        for (var i = 0; i < iterations; i++)
        {
            for (var k = 0; k < lanes.Count; k++)
            {
                if (settleMs > 0)
                {
                    Thread.Sleep(settleMs);
                }

                samples[k].Add(await lanes[k]().ConfigureAwait(false));
            }
        }

        return samples.Select(Stats.Of).ToArray();
    }
}
