using System.Globalization;

namespace Serverless.Quantization.Evaluation;

/// <summary>
/// The rule that decides whether a model's int8 artifact becomes its default (version 2; fp32 stays version 1):
/// int8 must meet the model's accuracy bar, be smaller than fp32 and not be slower. The size (0.30x) and latency
/// (0.70x) figures are targets that each verdict reports as met or missed; they do not decide the default.
/// </summary>
public static class Int8Verdict
{
    /// <summary>Size target: int8 at most this share of the fp32 file.</summary>
    public const double SizeTarget = 0.30;

    /// <summary>Latency target (for the models that have one): int8 at most this share of fp32's latency.</summary>
    public const double LatencyTarget = 0.70;

    /// <summary>
    /// A latency ratio up to this counts as not slower: equal within the timing resolution of the shared 2-core
    /// build machine, where the same run-time graph measured against itself, interleaved in one process over 150
    /// rounds, came out up to 1.03 (Silero VAD, 0.2 ms a chunk). Without it a model whose int8 runs exactly as
    /// fast as fp32 would flip between int8 and fp32 with the neighbours' load.
    /// </summary>
    public const double NotSlowerUpTo = 1.03;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Whether int8 earns the default, and the reasons it does not (empty when it does).</summary>
    public static (bool Earns, IReadOnlyList<string> Why) Decide(double sizeRatio, double latencyRatio, bool accuracyMet)
    {
        var why = new List<string>();
        if (!accuracyMet)
        {
            why.Add("int8 misses its accuracy bar");
        }

        if (!(sizeRatio < 1.0))
        {
            why.Add(string.Create(Inv, $"int8 is not smaller (size ratio {sizeRatio:F2})"));
        }

        if (!(latencyRatio <= NotSlowerUpTo))
        {
            why.Add(string.Create(Inv, $"int8 is {latencyRatio:F2}x slower"));
        }

        return (why.Count == 0, why);
    }

    /// <summary>One verdict sentence: the default (int8 or fp32) and why, then each target met or missed.</summary>
    public static string Describe(double sizeRatio, double latencyRatio, bool latencyTarget, bool accuracyMet, bool pinned)
    {
        var (earns, why) = Decide(sizeRatio, latencyRatio, accuracyMet);
        var speed = latencyRatio < 1.0 ? string.Create(Inv, $"{latencyRatio:F2}x the latency") : string.Create(Inv, $"as fast within timing noise (latency ratio {latencyRatio:F2})");
        var merits = string.Create(Inv, $"int8 meets its accuracy bar, is {sizeRatio:F2}x the size and {speed} of fp32");
        var decision = (earns, pinned) switch
        {
            (true, true) => $"default int8 (version 2): {merits}.",
            (true, false) => $"default fp32 for now: {merits}, but no int8 version is pinned in its model.json.",
            (false, true) => $"INT8 IS PINNED AS ITS DEFAULT BUT FAILS THE RULE: {string.Join("; ", why)}; re-check before shipping.",
            (false, false) => string.Create(Inv, $"default fp32: {string.Join("; ", why)}{(accuracyMet && sizeRatio < 1.0 ? $" (although it meets its accuracy bar at {sizeRatio:F2}x the size)" : string.Empty)}."),
        };
        var sizeText = string.Create(Inv, $"size <= {SizeTarget:F2}x {(sizeRatio <= SizeTarget ? "met" : "missed")} ({sizeRatio:F2})");
        var latencyText = latencyTarget
            ? string.Create(Inv, $"latency <= {LatencyTarget:F2}x {(latencyRatio <= LatencyTarget ? "met" : "missed")} ({latencyRatio:F2})")
            : "latency <= 0.70x not a target for this model";
        return $"{decision} Targets: {sizeText}; {latencyText}; accuracy bar {(accuracyMet ? "met" : "missed")}.";
    }
}
