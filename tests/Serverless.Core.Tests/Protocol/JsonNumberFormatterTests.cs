using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Serverless.Core.Protocol;

namespace Serverless.Core.Tests.Protocol;

public class JsonNumberFormatterTests
{
    public static IEnumerable<object[]> EdgeFloats() =>
        new[] { 0f, -0f, 1f, -1f, 0.1f, 1f / 3, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1e-38f, 1.17549435E-38f, 16777217f, 3.4028233E+38f, 123456.789f }
            .Select(f => new object[] { f });

    [Theory]
    [MemberData(nameof(EdgeFloats))]
    public void Float_FormatThenParse_GivesTheSameBits(float value) => AssertFloatRoundTrip(value);

    [Fact]
    public void Float_RandomBitPatterns_RoundTripExactly()
    {
        var random = new Random(1234);
        for (var i = 0; i < 20_000; i++)
        {
            var value = BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31));
            if (float.IsFinite(value))
            {
                AssertFloatRoundTrip(value);
            }
        }
    }

    [Fact]
    public void Double_RandomAndEdgeBitPatterns_RoundTripExactly()
    {
        var random = new Random(99);
        var values = new List<double> { 0, -0.0, double.Epsilon, double.MaxValue, double.MinValue, 0.1, 1.0 / 3, 2.2250738585072014E-308, 9007199254740993 };
        for (var i = 0; i < 20_000; i++)
        {
            values.Add(BitConverter.Int64BitsToDouble(random.NextInt64() ^ ((long)random.Next(2) << 63)));
        }

        foreach (var value in values.Where(double.IsFinite))
        {
            var text = Format(value);
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
            reader.Read();
            Assert.Equal(JsonTokenType.Number, reader.TokenType);
            Assert.True(reader.TryGetDouble(out var parsed));
            Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(parsed));
        }
    }

    [Fact]
    public void Half_EveryFiniteValue_RoundTripsThroughTheReader()
    {
        for (var bits = 0; bits <= ushort.MaxValue; bits++)
        {
            var value = BitConverter.UInt16BitsToHalf((ushort)bits);
            if (!Half.IsFinite(value))
            {
                continue;
            }

            var text = Format((float)value);
            Assert.True(Half.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed), text);
            Assert.Equal(bits, BitConverter.HalfToUInt16Bits(parsed));
        }
    }

    [Theory]
    [InlineData(float.NaN, "\"NaN\"")]
    [InlineData(float.PositiveInfinity, "\"Infinity\"")]
    [InlineData(float.NegativeInfinity, "\"-Infinity\"")]
    [InlineData(-0f, "-0")]
    [InlineData(1e-7f, "1E-07")]
    public void Float_SpecialValues_HaveOneDocumentedSpelling(float value, string expected) =>
        Assert.Equal(expected, Format(value));

    [Fact]
    public void FormattedNumbers_AreValidJson()
    {
        foreach (var value in new[] { float.MaxValue, float.Epsilon, 1e-7f, -0f })
        {
            using var doc = JsonDocument.Parse("[" + Format(value) + "]");
            Assert.Equal(JsonValueKind.Number, doc.RootElement[0].ValueKind);
        }
    }

    private static void AssertFloatRoundTrip(float value)
    {
        var text = Format(value);
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
        reader.Read();
        Assert.True(reader.TryGetSingle(out var parsed), text);
        Assert.Equal(BitConverter.SingleToInt32Bits(value), BitConverter.SingleToInt32Bits(parsed));
    }

    private static string Format(float value)
    {
        Span<byte> buffer = stackalloc byte[64];
        var n = JsonNumberFormatter.FormatFloat(value, buffer);
        return Encoding.UTF8.GetString(buffer[..n]);
    }

    private static string Format(double value)
    {
        Span<byte> buffer = stackalloc byte[64];
        var n = JsonNumberFormatter.FormatFloat(value, buffer);
        return Encoding.UTF8.GetString(buffer[..n]);
    }
}
