using System.Numerics.Tensors;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Calibration;

/// <summary>
/// What calibration saw of one tensor: its min and max over all samples, and (in a second pass, for
/// percentile and entropy) a histogram over that fixed range. Counting is in integers and in sample
/// order, so the same data always gives the same range.
/// </summary>
public sealed class TensorStatistics
{
    private long[]? _histogram;

    public TensorStatistics(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public float Min { get; private set; } = float.PositiveInfinity;

    public float Max { get; private set; } = float.NegativeInfinity;

    public long Count { get; private set; }

    /// <summary>Rank of the tensor as last seen (for the opset upgrader's Softmax check).</summary>
    public int Rank { get; set; } = -1;

    public IReadOnlyList<long> Histogram => _histogram ?? [];

    public void AddRange(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        Min = Math.Min(Min, TensorPrimitives.Min(values));
        Max = Math.Max(Max, TensorPrimitives.Max(values));
        Count += values.Length;
    }

    /// <summary>Adds values to a histogram of <paramref name="bins"/> bins over the [Min, Max] found by the first pass.</summary>
    public void AddHistogram(ReadOnlySpan<float> values, int bins)
    {
        _histogram ??= new long[bins];
        var width = (double)Max - Min;
        if (width <= 0)
        {
            _histogram[0] += values.Length;
            return;
        }

        var factor = bins / width;
        foreach (var v in values)
        {
            var bin = (int)((v - (double)Min) * factor);
            _histogram[Math.Clamp(bin, 0, bins - 1)]++;
        }
    }

    public TensorRange MinMax() => Count == 0 ? new TensorRange(0, 0) : new TensorRange(Min, Max);

    /// <summary>The range keeping <paramref name="percentile"/>% of values, cutting the rest equally from both tails.</summary>
    public TensorRange Percentile(double percentile)
    {
        if (_histogram is null)
        {
            return MinMax();
        }

        long total = 0;
        foreach (var c in _histogram)
        {
            total += c;
        }

        var tail = total * (100.0 - percentile) / 200.0;
        var width = ((double)Max - Min) / _histogram.Length;
        long seen = 0;
        var lo = 0;
        while (lo < _histogram.Length - 1 && seen + _histogram[lo] <= tail)
        {
            seen += _histogram[lo++];
        }

        seen = 0;
        var hi = _histogram.Length - 1;
        while (hi > lo && seen + _histogram[hi] <= tail)
        {
            seen += _histogram[hi--];
        }

        return new TensorRange((float)(Min + (lo * width)), (float)(Min + ((hi + 1) * width)));
    }

    /// <summary>
    /// The range whose quantization loses least information (smallest KL divergence between the clipped
    /// histogram and its 128-level quantized version), searched symmetrically around zero.
    /// </summary>
    public TensorRange Entropy(int levels = 128)
    {
        if (_histogram is null || Count == 0)
        {
            return MinMax();
        }

        // Re-bin into a histogram of |x| so the search is over one threshold.
        var absMax = Math.Max(Math.Abs(Min), Math.Abs(Max));
        if (absMax <= 0)
        {
            return MinMax();
        }

        var bins = _histogram.Length;
        var abs = new double[bins];
        var width = ((double)Max - Min) / bins;
        for (var i = 0; i < bins; i++)
        {
            var center = Math.Abs(Min + ((i + 0.5) * width));
            abs[Math.Min(bins - 1, (int)(center / absMax * bins))] += _histogram[i];
        }

        var best = bins;
        var bestKl = double.PositiveInfinity;
        for (var t = levels; t <= bins; t += Math.Max(1, bins / 256))
        {
            var kl = KlDivergence(abs, t, levels);
            if (kl < bestKl)
            {
                bestKl = kl;
                best = t;
            }
        }

        var threshold = (float)(best * absMax / bins);
        return new TensorRange(Math.Max(Min, -threshold), Math.Min(Max, threshold));
    }

    private static double KlDivergence(double[] hist, int threshold, int levels)
    {
        // P: the first `threshold` bins with everything beyond folded into the last one.
        var p = new double[threshold];
        Array.Copy(hist, p, threshold);
        for (var i = threshold; i < hist.Length; i++)
        {
            p[threshold - 1] += hist[i];
        }

        // Q: P squeezed into `levels` buckets, each spread evenly over its non-empty source bins.
        var q = new double[threshold];
        var per = (double)threshold / levels;
        for (var j = 0; j < levels; j++)
        {
            var start = (int)(j * per);
            var end = j == levels - 1 ? threshold : (int)((j + 1) * per);
            double sum = 0;
            var nonZero = 0;
            for (var i = start; i < end; i++)
            {
                sum += hist[i];
                nonZero += hist[i] > 0 ? 1 : 0;
            }

            for (var i = start; i < end; i++)
            {
                q[i] = hist[i] > 0 ? sum / nonZero : 0;
            }
        }

        double pSum = 0, qSum = 0;
        for (var i = 0; i < threshold; i++)
        {
            pSum += p[i];
            qSum += q[i];
        }

        if (pSum <= 0 || qSum <= 0)
        {
            return double.PositiveInfinity;
        }

        double kl = 0;
        for (var i = 0; i < threshold; i++)
        {
            if (p[i] > 0)
            {
                var pi = p[i] / pSum;
                var qi = q[i] > 0 ? q[i] / qSum : 1e-12;
                kl += pi * Math.Log(pi / qi);
            }
        }

        return kl;
    }
}
