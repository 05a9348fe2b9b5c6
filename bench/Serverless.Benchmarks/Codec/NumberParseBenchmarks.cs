using System.Buffers.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Serverless.Core.Protocol;

namespace Serverless.Benchmarks.Codec;

/// <summary>
/// The number-parsing part of a JSON request alone, over the 27,648 floats of text-direction's "data" array
/// (the bytes between "data": and the end of the input), so the three ways of walking it compare in one run:
/// the flat scanner with <see cref="FastFloatParser"/>, the same walk with <see cref="Utf8Parser"/> (what the
/// scanner did before), and the outer pass's <c>Utf8JsonReader.Skip()</c> over the array (tokenizing only).
/// </summary>
[MemoryDiagnoser]
public class NumberParseBenchmarks
{
    private byte[] _data = null!;
    private float[] _values = null!;

    [GlobalSetup]
    public void Setup()
    {
        var json = TensorRequest.TextDirection().Json;
        var start = json.AsSpan().IndexOf("\"data\":"u8) + "\"data\":".Length;
        var end = json.AsSpan().LastIndexOf((byte)']') - 2; // the document ends with "]}]}"
        _data = json[start..(end + 1)];
        _values = new float[3 * 48 * 192];
        if (!FlatNumberScanner.TryRead(_data, _values.AsSpan()) || ParseWithUtf8Parser() != _values.Length)
        {
            throw new InvalidOperationException("The data array did not parse.");
        }
    }

    [Benchmark(Description = "scan 27,648 floats: FastFloatParser")]
    public bool FastFloatParserScan() => FlatNumberScanner.TryRead(_data, _values.AsSpan());

    [Benchmark(Description = "scan 27,648 floats: Utf8Parser")]
    public int Utf8ParserScan() => ParseWithUtf8Parser();

    [Benchmark(Description = "Utf8JsonReader.Skip() over the array")]
    public long SkipArray()
    {
        var reader = new Utf8JsonReader(_data);
        reader.Read();
        reader.Skip();
        return reader.BytesConsumed;
    }

    private int ParseWithUtf8Parser()
    {
        var data = _data.AsSpan();
        var values = _values.AsSpan();
        var p = 1;
        var n = 0;
        while (Utf8Parser.TryParse(data[p..], out float value, out var consumed))
        {
            values[n++] = value;
            p += consumed;
            if (data[p++] != (byte)',')
            {
                break;
            }
        }

        return n;
    }
}
