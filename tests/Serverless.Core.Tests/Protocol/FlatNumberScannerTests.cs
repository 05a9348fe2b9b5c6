using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Core.Protocol;

namespace Serverless.Core.Tests.Protocol;

/// <summary>The flat FP32/FP64 fast path must agree bit for bit with Utf8JsonReader and refuse anything unusual.</summary>
public sealed class FlatNumberScannerTests
{
    [Fact]
    public void TryRead_Floats_AgreesBitForBitWithTheTokenReader()
    {
        var random = new Random(42);
        var values = new float[5000];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i % 7 == 0 ? BitConverter.Int32BitsToSingle(random.Next()) is var f && float.IsFinite(f) ? f : 0.5f : (float)(random.NextDouble() * 2 - 1);
        }

        var json = Encoding.UTF8.GetBytes("[ " + string.Join(" ,\n", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + " ]");
        var fast = new float[values.Length];

        Assert.True(FlatNumberScanner.TryRead(json, fast));
        var reader = new Utf8JsonReader(json);
        reader.Read();
        for (var i = 0; i < values.Length; i++)
        {
            reader.Read();
            Assert.Equal(BitConverter.SingleToInt32Bits(reader.GetSingle()), BitConverter.SingleToInt32Bits(fast[i]));
            Assert.Equal(BitConverter.SingleToInt32Bits(values[i]), BitConverter.SingleToInt32Bits(fast[i]));
        }
    }

    [Fact]
    public void TryRead_Doubles_RoundTripsShortestText()
    {
        double[] values = [0.1, -2.5e-300, 1.7976931348623157E+308, 5e-324, 123456789.123456789];
        var json = Encoding.UTF8.GetBytes("[" + string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]");
        var fast = new double[values.Length];

        Assert.True(FlatNumberScanner.TryRead(json, fast));
        Assert.Equal(values, fast);
    }

    [Theory]
    [InlineData("[1,2]")]          // too few
    [InlineData("[1,2,3,4]")]      // too many
    [InlineData("[[1,2,3]]")]      // nested: the token reader handles it
    [InlineData("[1,\"NaN\",3]")]  // strings: the token reader handles them
    [InlineData("[1,2,1e39]")]     // overflow to infinity: the token reader reports it
    [InlineData("[1,2,3] x")]      // trailing bytes
    [InlineData("[1,,3]")]
    [InlineData("3")]
    [InlineData("[1,2,true]")]
    [InlineData("[01,2,3]")]       // what JSON forbids, the scanner refuses by itself (it no longer relies on an earlier pass)
    [InlineData("[1,2,-03]")]
    [InlineData("[1.,2,3]")]
    [InlineData("[.5,2,3]")]
    [InlineData("[+1,2,3]")]
    [InlineData("[1e,2,3]")]
    [InlineData("[1,2,3e+]")]
    [InlineData("[1,2,-]")]
    [InlineData("[1,2,3,]")]
    [InlineData("[1 2 3]")]
    [InlineData("[1,2,0x3]")]
    [InlineData("[1,2,3\f]")]    // form feed is not JSON whitespace
    [InlineData("[1,2,3]]")]
    [InlineData("[1,2,NaN]")]
    [InlineData("[1,2,3")]
    public void TryRead_UnusualInput_DefersToTheTokenReader(string text)
    {
        Assert.False(FlatNumberScanner.TryRead(Encoding.UTF8.GetBytes(text), new float[3]));
    }

    [Fact]
    public void TryRead_EmptyArray_FitsOnlyAnEmptyTensor()
    {
        Assert.True(FlatNumberScanner.TryRead("[ ]"u8, Span<float>.Empty));
        Assert.False(FlatNumberScanner.TryRead("[]"u8, new float[1]));
    }

    [Fact]
    public void TryRead_FlatAndNestedPaths_GiveTheSameCorrectlyRoundedBits()
    {
        // "16777217.000000000000" is an exact tie between two floats: correct rounding gives 16777216 (even).
        // The flat array takes the scanner; the nested one the token reader. Both must agree with float.Parse.
        var flat = Encoding.UTF8.GetBytes("[16777217.000000000000, 0.1, -2.5e-3]");
        var scanned = new float[3];
        Assert.True(FlatNumberScanner.TryRead(flat, scanned));

        using var tensor = new Serverless.Core.Tensors.HostTensor();
        tensor.Initialize("x", Serverless.Core.Tensors.TensorElementType.Float, [1, 3]);
        JsonTensorDataReader.Read(Encoding.UTF8.GetBytes("[[16777217.000000000000, 0.1, -2.5e-3]]"), tensor, "m");

        float[] expected = [16777216f, 0.1f, -2.5e-3f];
        Assert.Equal(expected, scanned);
        Assert.Equal(expected, tensor.GetSpan<float>().ToArray());
    }
}
