using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Serverless.Core.Protocol;

namespace Serverless.Core.Tests.Protocol;

/// <summary>
/// <see cref="FastFloatParser"/> must give exactly the bits float.Parse/double.Parse give (correct rounding, ties
/// to even) for every JSON number, and refuse every string the JSON number grammar refuses.
/// </summary>
public sealed class FastFloatParserTests
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("0.0")]
    [InlineData("-0.000")]
    [InlineData("0e5")]
    [InlineData("-0E-400")]
    [InlineData("0e99999999999999999999")]
    [InlineData("1")]
    [InlineData("-1")]
    [InlineData("0.1")]
    [InlineData("-0.99215686")]
    [InlineData("0.003921628")]
    [InlineData("1e-45")]                // smallest float subnormal
    [InlineData("1.4e-45")]
    [InlineData("7e-46")]                // just under half the smallest subnormal
    [InlineData("7.1e-46")]              // just over: rounds up to it
    [InlineData("-1.401298464324817e-45")]
    [InlineData("1.1754942e-38")]        // largest float subnormal
    [InlineData("1.17549435e-38")]       // smallest float normal
    [InlineData("3.4028235e38")]         // float max
    [InlineData("3.40282356779733661637539395458142568448e38")] // exactly the float overflow midpoint: rounds to infinity
    [InlineData("3.4028235677973366e38")]
    [InlineData("3.4028236e38")]
    [InlineData("1e39")]                 // float overflow
    [InlineData("-1e39")]
    [InlineData("1.7976931348623157e308")] // double max
    [InlineData("1.7976931348623159e308")] // double overflow
    [InlineData("2.2250738585072014e-308")] // double min normal
    [InlineData("2.2250738585072011e-308")] // double subnormal
    [InlineData("5e-324")]
    [InlineData("2.4703282292062327e-324")] // under half the smallest double subnormal
    [InlineData("2.4703282292062328e-324")] // over half: rounds up to it
    [InlineData("1e-400")]
    [InlineData("1e400")]
    [InlineData("1e-99999999999")]
    [InlineData("1e99999999999")]
    [InlineData("1e22")]                 // largest exact power of ten
    [InlineData("1e23")]                 // first inexact one
    [InlineData("1e-22")]
    [InlineData("1e-23")]
    [InlineData("9007199254740992")]     // 2^53: the fast path's largest mantissa
    [InlineData("9007199254740993")]     // 2^53 + 1: not a double
    [InlineData("9007199254740993e-22")]
    [InlineData("9999999999999999999")]  // 19 digits
    [InlineData("12345678901234567890")] // 20 digits
    [InlineData("1.00000000000000000000001")]
    [InlineData("0.000000000000000000000000000001234567890123456789012345")]
    [InlineData("123456789012345678901234567890e-30")]
    [InlineData("16777216")]             // 2^24
    [InlineData("16777217")]             // midpoint between floats 2^24 and 2^24 + 2: ties to even
    [InlineData("16777219")]             // midpoint: ties to even (up)
    [InlineData("16777217.000000001")]   // a hair above the midpoint: the double rounds onto it, the float must not
    [InlineData("16777216.999999999")]   // a hair below it
    [InlineData("33554433")]
    [InlineData("1048576.0625")]         // float midpoint with a fraction (2^20 + 2^-4)
    [InlineData("1048576.06250000001")]
    [InlineData("1048576.06249999999")]
    [InlineData("0.5")]
    [InlineData("1E+08")]
    [InlineData("1e008")]                // leading zeros are allowed in the exponent
    [InlineData("1E-008")]
    [InlineData("-1.5E-007")]
    [InlineData("1.5e+0")]
    [InlineData("123456789e-30")]
    [InlineData("4.9406564584124654e-324")]
    [InlineData("0.30000000000000004")]
    [InlineData("100000000000000000000000")]
    [InlineData("8.589973e9")]
    [InlineData("2.3509887e-38")]
    public void TryParse_EdgeCases_MatchTheRuntimeBitForBit(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        AssertSame(utf8);
        Assert.Equal(utf8.Length, FastFloatParser.TryParse(utf8, 0, out float _));
    }

    [Fact]
    public void TryParse_DoubleRoundingTrap_GivesTheCorrectlyRoundedFloat()
    {
        // The double nearest 16777217.000000001 is 16777217, a float midpoint; rounding that to float would give
        // 16777216 (ties to even), but the exact value is above the midpoint, so the right float is 16777218.
        Assert.True(FastFloatParser.TryParse("16777217.000000001"u8, out float above));
        Assert.Equal(16777218f, above);
        Assert.True(FastFloatParser.TryParse("16777217"u8, out float tie));
        Assert.Equal(16777216f, tie);
        Assert.True(FastFloatParser.TryParse("-0"u8, out float negativeZero));
        Assert.True(float.IsNegative(negativeZero));
        Assert.True(FastFloatParser.TryParse("0"u8, out double zero));
        Assert.False(double.IsNegative(zero));
    }

    [Theory]
    [InlineData("16777217.000000000000", 16777216f)]          // an exact tie written with 20 digits
    [InlineData("1677721700000000000000e-14", 16777216f)]
    [InlineData("16777217.0000000000000000000001", 16777218f)] // just above the tie
    public void TryParse_TiesWithTrailingZeros_RoundToEven(string text, float expected)
    {
        Assert.True(FastFloatParser.TryParse(Encoding.ASCII.GetBytes(text), out float actual));
        Assert.Equal(expected, actual);
        Assert.Equal(expected, float.Parse(text, Invariant));
    }

    [Fact]
    public void Utf8Parser_RoundsATieWithTrailingZerosUp_SoTheTokenPathDoesNotUseIt()
    {
        // Why JsonTensorDataReader parses number tokens with FastFloatParser instead of Utf8JsonReader.GetSingle:
        // Utf8Parser counts zeros past its digit buffer as a non-zero tail. If a runtime update fixes that, this
        // test fails and the comment in JsonTensorDataReader can go.
        Assert.True(Utf8Parser.TryParse("16777217.000000000000"u8, out float viaUtf8Parser, out _));
        Assert.Equal(16777218f, viaUtf8Parser);
        Assert.Equal(16777216f, float.Parse("16777217.000000000000", Invariant));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("+1")]
    [InlineData("01")]
    [InlineData("-01")]
    [InlineData("00")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("-.5")]
    [InlineData("1.e5")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData("1e-")]
    [InlineData("1e+-3")]
    [InlineData("1e5.5")]
    [InlineData("--1")]
    [InlineData("- 1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1,0")]
    [InlineData("1.5.3")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("0x10")]
    [InlineData("1_000")]
    [InlineData("1.5f")]
    [InlineData("1d")]
    [InlineData("\u0661")] // ARABIC-INDIC DIGIT ONE
    [InlineData("\uFF11")] // FULLWIDTH DIGIT ONE
    public void TryParse_NotAJsonNumber_IsRefused(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        Assert.False(FastFloatParser.TryParse(utf8, out float _));
        Assert.False(FastFloatParser.TryParse(utf8, out double _));
    }

    [Theory]
    [InlineData("01", 1)]      // "0", then a byte the caller must reject
    [InlineData("-0.5,", 4)]
    [InlineData("12]", 2)]
    [InlineData("1e5 ", 3)]
    [InlineData("1.", -1)]
    [InlineData("x", -1)]
    public void TryParse_AtAnOffset_StopsWhereTheNumberEnds(string text, int end)
    {
        var utf8 = Encoding.UTF8.GetBytes("[" + text);
        Assert.Equal(end < 0 ? -1 : end + 1, FastFloatParser.TryParse(utf8, 1, out float _));
    }

    [Fact]
    public void TryParse_RandomFloatBitPatterns_AgreeWithFloatParseInManyFormats()
    {
        // Shortest round-trip text, fixed significant digits (6-12, the ranges clients print) and E notation:
        // most land in the fast path, long and extreme ones in the fallback, and a few on float midpoints.
        string[] formats = ["R", "E8", "G6", "G7", "G9", "G10", "G12", "F3"];
        var random = new Random(20261122);
        Span<byte> text = stackalloc byte[400];
        var failures = new List<string>();
        for (var i = 0; i < 200_000; i++)
        {
            var value = BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31));
            if (!float.IsFinite(value))
            {
                continue;
            }

            foreach (var format in formats)
            {
                if (format == "F3" && Math.Abs(value) > 1e12f)
                {
                    continue; // F3 of huge values is 40-digit integers; "R" and "E8" already cover them
                }

                Assert.True(value.TryFormat(text, out var n, format, Invariant));
                CheckFloat(text[..n], failures);
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} mismatches, e.g. {string.Join(", ", failures.Take(10))}");
    }

    [Fact]
    public void TryParse_TypicalTensorValues_AgreeWithFloatParse()
    {
        // Pixels normalized to [-1, 1] and probabilities in [0, 1): the payloads the service actually sees.
        var random = new Random(5);
        Span<byte> text = stackalloc byte[64];
        var failures = new List<string>();
        for (var i = 0; i < 200_000; i++)
        {
            var pixel = ((random.Next(256) / 255f) - 0.5f) / 0.5f;
            Assert.True(pixel.TryFormat(text, out var n, "R", Invariant));
            CheckFloat(text[..n], failures);
            var probability = random.NextSingle();
            Assert.True(probability.TryFormat(text, out n, "R", Invariant));
            CheckFloat(text[..n], failures);
            Assert.True(probability.TryFormat(text, out n, "F9", Invariant));
            CheckFloat(text[..n], failures);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} mismatches, e.g. {string.Join(", ", failures.Take(10))}");
    }

    [Fact]
    public void TryParse_NearFloatMidpoints_AgreeWithFloatParse()
    {
        // Floats from 2^10 to 2^60 have midpoints with short exact decimal expansions, so the fast path sees
        // them: the midpoint itself (ties to even), and values a hair above and below it (which a naive
        // double-then-float rounding gets wrong when the double rounds onto the midpoint).
        var random = new Random(77);
        var failures = new List<string>();
        for (var i = 0; i < 50_000; i++)
        {
            var exponent = random.Next(10, 61);
            // lower = m * 2^(exponent - 23) with a 24-bit m; its midpoint with the next float is (2m + 1) * 2^(exponent - 24),
            // exact in decimal (at most 2^61, or 14 fraction digits).
            var m = (1 << 23) | random.Next(1 << 23);
            var scale = exponent - 24;
            var midpoint = scale >= 0 ? (decimal)((2L * m) + 1) * (1L << scale) : (decimal)((2L * m) + 1) / (1L << -scale);
            var lower = scale >= 0 ? (decimal)(2L * m) * (1L << scale) : (decimal)(2L * m) / (1L << -scale);
            Assert.Equal(BitConverter.Int32BitsToSingle(((exponent + 127) << 23) | (m & ((1 << 23) - 1))), float.Parse(lower.ToString(Invariant), Invariant));
            var exact = midpoint.ToString(Invariant);
            CheckFloat(Encoding.ASCII.GetBytes(exact), failures);
            foreach (var nudge in new[] { "1", "9", "00001", "99999" })
            {
                var digits = exact.Replace(".", "", StringComparison.Ordinal).Length;
                var pad = Math.Max(0, 19 - digits - nudge.Length);
                var fraction = exact.Contains('.', StringComparison.Ordinal) ? "" : ".";
                CheckFloat(Encoding.ASCII.GetBytes(exact + fraction + new string('0', pad) + nudge), failures);
            }

            var below = (midpoint - (0.5m * (decimal)Math.Pow(2, -40))).ToString(Invariant);
            CheckFloat(Encoding.ASCII.GetBytes(below), failures);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} mismatches, e.g. {string.Join(", ", failures.Take(10))}");
    }

    [Fact]
    public void TryParse_RandomDoubleBitPatterns_AgreeWithDoubleParseInManyFormats()
    {
        string[] formats = ["R", "E16", "G17", "G6", "G9", "G15"];
        var random = new Random(314159);
        Span<byte> text = stackalloc byte[400];
        var failures = new List<string>();
        for (var i = 0; i < 120_000; i++)
        {
            // Half uniform over all bit patterns, half with modest exponents (the fast path's range).
            var bits = i % 2 == 0
                ? random.NextInt64() ^ ((long)random.Next(2) << 63)
                : (((long)random.Next(1023 - 80, 1023 + 80)) << 52) | (random.NextInt64() & ((1L << 52) - 1));
            var value = BitConverter.Int64BitsToDouble(bits);
            if (!double.IsFinite(value))
            {
                continue;
            }

            foreach (var format in formats)
            {
                Assert.True(value.TryFormat(text, out var n, format, Invariant));
                CheckDouble(text[..n], failures);
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} mismatches, e.g. {string.Join(", ", failures.Take(10))}");
    }

    [Fact]
    public void TryParse_RandomShortDecimals_AgreeWithTheRuntime()
    {
        // Random digit strings with random decimal points and exponents: every shape of JSON number, not only
        // the ones a formatter writes (leading zeros in fractions, trailing zeros, long mantissas).
        var random = new Random(2718);
        var builder = new StringBuilder();
        var failures = new List<string>();
        for (var i = 0; i < 100_000; i++)
        {
            builder.Clear();
            if (random.Next(2) == 0)
            {
                builder.Append('-');
            }

            var intDigits = random.Next(1, 22);
            builder.Append(random.Next(4) == 0 ? '0' : (char)('1' + random.Next(9)));
            if (builder[^1] != '0')
            {
                for (var k = 1; k < intDigits; k++)
                {
                    builder.Append((char)('0' + random.Next(10)));
                }
            }

            if (random.Next(2) == 0)
            {
                builder.Append('.');
                var fractionDigits = random.Next(1, 24);
                for (var k = 0; k < fractionDigits; k++)
                {
                    builder.Append(random.Next(3) == 0 ? '0' : (char)('0' + random.Next(10)));
                }
            }

            if (random.Next(2) == 0)
            {
                builder.Append(random.Next(2) == 0 ? 'e' : 'E').Append(random.Next(3) switch { 0 => "", 1 => "+", _ => "-" });
                builder.Append(random.Next(60).ToString(Invariant).PadLeft(random.Next(1, 4), '0'));
            }

            var utf8 = Encoding.ASCII.GetBytes(builder.ToString());
            CheckFloat(utf8, failures);
            CheckDouble(utf8, failures);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} mismatches, e.g. {string.Join(", ", failures.Take(10))}");
    }

    private static void AssertSame(byte[] utf8)
    {
        var failures = new List<string>();
        CheckFloat(utf8, failures);
        CheckDouble(utf8, failures);
        Assert.Empty(failures);
    }

    private static void CheckFloat(ReadOnlySpan<byte> utf8, List<string> failures)
    {
        var expected = float.Parse(utf8, NumberStyles.Float, Invariant);
        var ok = FastFloatParser.TryParse(utf8, out float actual);
        if (!ok || BitConverter.SingleToUInt32Bits(actual) != BitConverter.SingleToUInt32Bits(expected))
        {
            failures.Add($"float {Encoding.ASCII.GetString(utf8)}: ours {(ok ? actual.ToString("R", Invariant) : "refused")}, float.Parse {expected:R}");
        }
    }

    private static void CheckDouble(ReadOnlySpan<byte> utf8, List<string> failures)
    {
        var expected = double.Parse(utf8, NumberStyles.Float, Invariant);
        var ok = FastFloatParser.TryParse(utf8, out double actual);
        if (!ok || BitConverter.DoubleToUInt64Bits(actual) != BitConverter.DoubleToUInt64Bits(expected))
        {
            failures.Add($"double {Encoding.ASCII.GetString(utf8)}: ours {(ok ? actual.ToString("R", Invariant) : "refused")}, double.Parse {expected:R}");
        }
    }
}
