using System.Globalization;
using System.Text;
using Serverless.Core.Protocol;

namespace Serverless.Core.Tests.Protocol;

/// <summary>
/// <see cref="ShortestFloatFormatter"/> must write exactly the runtime's text (so it is the shortest and parses
/// back to the same bits) for every float it accepts, and accept most tensor-like values.
/// </summary>
public sealed class ShortestFloatFormatterTests
{
    [Theory]
    [InlineData(1f)]
    [InlineData(-1f)]
    [InlineData(0.5f)]
    [InlineData(0.1f)]
    [InlineData(-0.99215686f)]
    [InlineData(0.003921628f)]
    [InlineData(1f / 3)]
    [InlineData(100f)]
    [InlineData(16777216f)]
    [InlineData(123456790f)]
    [InlineData(999999940f)]
    [InlineData(0.0001f)]
    [InlineData(0.00012345f)]
    [InlineData(1e-5f)]                 // first exponent form
    [InlineData(-1.5e-5f)]
    [InlineData(9.313226e-10f)]         // 2^-30, the smallest handled
    [InlineData(1.0000001f)]
    [InlineData(0.99999994f)]
    [InlineData(8388608f)]              // 2^23
    [InlineData(67108864f)]             // 2^26: grid scaled up, not down
    [InlineData(536870900f)]
    public void TryFormat_KnownValues_WriteTheRuntimesText(float value)
    {
        Span<byte> buffer = stackalloc byte[32];
        var n = ShortestFloatFormatter.TryFormat(value, buffer);
        Assert.True(n > 0, $"{value:R} was declined");
        Assert.Equal(value.ToString(CultureInfo.InvariantCulture), Encoding.ASCII.GetString(buffer[..n]));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1e-10f)]    // below 2^-30
    [InlineData(-2e-10f)]
    [InlineData(1.5e9f)]    // above 10^9
    [InlineData(1e9f)]
    [InlineData(float.MaxValue)]
    [InlineData(float.Epsilon)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void TryFormat_OutOfRange_Declines(float value)
    {
        Span<byte> buffer = stackalloc byte[32];
        Assert.Equal(0, ShortestFloatFormatter.TryFormat(value, buffer));
        Assert.Equal(0, ShortestFloatFormatter.TryFormat(-value, buffer));
    }

    [Fact]
    public void TryFormat_RandomFloats_WriteTheRuntimesTextOrDecline()
    {
        // Uniform bit patterns over the handled exponents, probabilities in [0, 1) and normalized pixels: the
        // text must equal float.TryFormat's byte for byte; declines are allowed but must be rare.
        var random = new Random(4242);
        Span<byte> ours = stackalloc byte[32];
        Span<byte> runtime = stackalloc byte[32];
        var failures = new List<string>();
        var declined = 0;
        const int Count = 1_500_000;
        for (var i = 0; i < Count; i++)
        {
            var value = (i % 3) switch
            {
                0 => BitConverter.Int32BitsToSingle(((random.Next(127 - 30, 127 + 30)) << 23) | random.Next(1 << 23) | (random.Next(2) << 31)),
                1 => random.NextSingle(),
                _ => ((random.Next(256) / 255f) - 0.5f) / 0.5f,
            };

            var n = ShortestFloatFormatter.TryFormat(value, ours);
            if (n == 0)
            {
                declined++;
                continue;
            }

            Assert.True(value.TryFormat(runtime, out var m, default, CultureInfo.InvariantCulture));
            if (!ours[..n].SequenceEqual(runtime[..m]))
            {
                failures.Add($"{Encoding.ASCII.GetString(runtime[..m])} written as {Encoding.ASCII.GetString(ours[..n])}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} differences, e.g. {string.Join(", ", failures.Take(10))}");
        Assert.True(declined < Count / 50, $"declined {declined} of {Count}");
    }
}
