using Serverless.Quantization.Evaluation;

namespace Serverless.Quantization.Tests.Evaluation;

public class Int8VerdictTests
{
    [Fact]
    public void AllGood_Pinned_DefaultsToInt8()
    {
        var text = Int8Verdict.Describe(0.28, 0.80, latencyTarget: true, accuracyMet: true, pinned: true);

        Assert.True(Int8Verdict.Decide(0.28, 0.80, accuracyMet: true).Earns);
        Assert.StartsWith("default int8 (version 2): int8 meets its accuracy bar, is 0.28x the size and 0.80x the latency of fp32.", text);
    }

    [Fact]
    public void AllGood_NotPinned_SaysFp32ForNowAndWhy()
    {
        var text = Int8Verdict.Describe(0.28, 0.80, latencyTarget: true, accuracyMet: true, pinned: false);

        Assert.StartsWith("default fp32 for now: int8 meets its accuracy bar", text);
        Assert.Contains("no int8 version is pinned in its model.json", text);
    }

    [Fact]
    public void AccuracyMiss_DefaultsToFp32EvenWhenSmallerAndFaster()
    {
        var (earns, why) = Int8Verdict.Decide(0.25, 0.50, accuracyMet: false);
        var text = Int8Verdict.Describe(0.25, 0.50, latencyTarget: true, accuracyMet: false, pinned: false);

        Assert.False(earns);
        Assert.Equal(["int8 misses its accuracy bar"], why);
        Assert.StartsWith("default fp32: int8 misses its accuracy bar.", text);
        Assert.EndsWith("accuracy bar missed.", text);
    }

    [Fact]
    public void Slower_DefaultsToFp32AndSaysHowMuch()
    {
        var (earns, why) = Int8Verdict.Decide(0.43, 1.35, accuracyMet: true);
        var text = Int8Verdict.Describe(0.43, 1.35, latencyTarget: false, accuracyMet: true, pinned: false);

        Assert.False(earns);
        Assert.Equal(["int8 is 1.35x slower"], why);
        Assert.StartsWith("default fp32: int8 is 1.35x slower (although it meets its accuracy bar at 0.43x the size).", text);
    }

    [Fact]
    public void Larger_OrEqualSize_DefaultsToFp32()
    {
        Assert.Equal(["int8 is not smaller (size ratio 1.00)"], Int8Verdict.Decide(1.0, 0.78, accuracyMet: true).Why);
        Assert.Equal(["int8 is not smaller (size ratio 1.20)"], Int8Verdict.Decide(1.2, 0.78, accuracyMet: true).Why);
        Assert.StartsWith("default fp32: int8 is not smaller (size ratio 1.00).", Int8Verdict.Describe(1.0, 0.78, false, accuracyMet: true, pinned: false));
    }

    [Fact]
    public void EveryReasonIsListed()
    {
        var (earns, why) = Int8Verdict.Decide(1.1, 1.5, accuracyMet: false);

        Assert.False(earns);
        Assert.Equal(["int8 misses its accuracy bar", "int8 is not smaller (size ratio 1.10)", "int8 is 1.50x slower"], why);
    }

    [Theory]
    [InlineData(1.00, true)]
    [InlineData(1.03, true)]
    [InlineData(1.031, false)]
    [InlineData(1.04, false)]
    [InlineData(double.NaN, false)]
    [InlineData(double.PositiveInfinity, false)]
    public void LatencyTolerance_EqualWithinNoiseIsNotSlower(double latency, bool earns)
    {
        Assert.Equal(earns, Int8Verdict.Decide(0.29, latency, accuracyMet: true).Earns);
    }

    [Fact]
    public void NotFasterButWithinNoise_IsDescribedAsAsFast()
    {
        var text = Int8Verdict.Describe(0.29, 1.01, latencyTarget: false, accuracyMet: true, pinned: true);

        Assert.StartsWith("default int8 (version 2): int8 meets its accuracy bar, is 0.29x the size and as fast within timing noise (latency ratio 1.01) of fp32.", text);
    }

    [Fact]
    public void NaNSize_IsNotSmaller()
    {
        Assert.False(Int8Verdict.Decide(double.NaN, 0.5, accuracyMet: true).Earns);
    }

    [Fact]
    public void PinnedButFailing_IsFlaggedLoudly()
    {
        var text = Int8Verdict.Describe(0.29, 1.20, latencyTarget: false, accuracyMet: true, pinned: true);

        Assert.StartsWith("INT8 IS PINNED AS ITS DEFAULT BUT FAILS THE RULE: int8 is 1.20x slower; re-check before shipping.", text);
    }

    [Theory]
    [InlineData(0.28, 0.66, true, "size <= 0.30x met (0.28); latency <= 0.70x met (0.66); accuracy bar met.")]
    [InlineData(0.30, 0.70, true, "size <= 0.30x met (0.30); latency <= 0.70x met (0.70); accuracy bar met.")]
    [InlineData(0.31, 0.80, true, "size <= 0.30x missed (0.31); latency <= 0.70x missed (0.80); accuracy bar met.")]
    [InlineData(0.43, 1.35, false, "size <= 0.30x missed (0.43); latency <= 0.70x not a target for this model; accuracy bar met.")]
    public void Targets_AreReportedMetOrMissed_ButDoNotDecide(double size, double latency, bool latencyTarget, string targets)
    {
        var text = Int8Verdict.Describe(size, latency, latencyTarget, accuracyMet: true, pinned: false);

        Assert.EndsWith("Targets: " + targets, text);
    }

    [Fact]
    public void MissedTargets_DoNotBlockTheDefault()
    {
        // 0.80x latency and 0.31x size miss both targets, yet int8 is smaller, faster and accurate: it earns the default.
        Assert.True(Int8Verdict.Decide(0.31, 0.80, accuracyMet: true).Earns);
    }
}
