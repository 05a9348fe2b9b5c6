using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Parses an input's JSON <c>data</c> (flat, or nested to exactly the shape's rank) straight into an
/// initialized <see cref="HostTensor"/>, one element at a time with <see cref="Utf8JsonReader"/>: no object
/// graph, no boxing. Floating-point inputs also accept the strings "NaN", "Infinity" and "-Infinity", the
/// spelling <see cref="JsonNumberFormatter"/> writes because JSON numbers cannot hold them.
/// </summary>
internal static class JsonTensorDataReader
{
    private const int MaxRank = 32;

    /// <summary>Fills <paramref name="tensor"/> from <paramref name="data"/>, the exact bytes of the JSON value.</summary>
    public static void Read(ReadOnlySpan<byte> data, HostTensor tensor, string model)
    {
        // Flat FP32/FP64 arrays are by far the most common payload (images, audio). Parsing them by scanning the
        // bytes skips the tokenizer's per-token bookkeeping; anything unusual (nesting, strings, a wrong count, a
        // non-finite value) falls through to the token reader below, which owns every error message.
        if (tensor.ElementType == TensorElementType.Float && FlatNumberScanner.TryRead(data, tensor.GetSpan<float>()))
        {
            return;
        }

        if (tensor.ElementType == TensorElementType.Double && FlatNumberScanner.TryRead(data, tensor.GetSpan<double>()))
        {
            return;
        }

        var reader = new Utf8JsonReader(data, new JsonReaderOptions { MaxDepth = MaxRank + 2 });
        reader.Read();
        var expected = tensor.ElementCount;
        var shape = tensor.Shape;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            // A bare scalar is accepted for a one-element tensor (e.g. a scalar "sr" input).
            if (expected != 1)
            {
                throw Bad(model, tensor, $"'data' must be a JSON array of {expected} elements (flat, or nested like the shape {ShapeText(shape)}).");
            }

            WriteElement(ref reader, tensor, 0, model);
            return;
        }

        reader.Read();
        long count;
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            count = ReadNested(ref reader, tensor, model);
        }
        else
        {
            count = 0;
            while (reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    throw Bad(model, tensor, $"element {count} of 'data' is an object; elements must be {tensor.ElementType.ToProtocolName()} values.");
                }

                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    throw Bad(model, tensor, $"'data' mixes arrays and values at the top level (element {count}); send it flat or nested exactly like the shape {ShapeText(shape)}.");
                }

                if (count < expected)
                {
                    WriteElement(ref reader, tensor, count, model);
                }

                count++;
                reader.Read();
            }
        }

        if (count != expected)
        {
            throw Bad(model, tensor, $"expected {expected} elements from shape {ShapeText(shape)}, got {count}. Make 'shape' and 'data' agree.");
        }
    }

    // Reader is on the first nested StartArray. Every array at depth d (1-based) must hold shape[d-1] entries.
    private static long ReadNested(ref Utf8JsonReader reader, HostTensor tensor, string model)
    {
        var shape = tensor.Shape;
        var rank = shape.Length;
        if (rank > MaxRank)
        {
            throw Bad(model, tensor, $"rank {rank} is over the supported {MaxRank} for nested data; send flat data.");
        }

        Span<long> counts = stackalloc long[MaxRank + 1];
        counts[0] = 0; // depth 1: the outer array, already open
        var depth = 1;
        long index = 0;
        while (true)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    counts[depth - 1]++;
                    depth++;
                    if (depth > rank)
                    {
                        throw Bad(model, tensor, $"'data' is nested {depth} deep but the shape {ShapeText(shape)} has rank {rank}.");
                    }

                    counts[depth - 1] = 0;
                    break;
                case JsonTokenType.EndArray:
                    if (counts[depth - 1] != shape[depth - 1])
                    {
                        throw Bad(model, tensor, $"nested 'data' does not match shape {ShapeText(shape)}: an array at depth {depth} has {counts[depth - 1]} entries where dimension {depth - 1} is {shape[depth - 1]} (ragged or mis-shaped arrays).");
                    }

                    depth--;
                    if (depth == 0)
                    {
                        return index;
                    }

                    break;
                case JsonTokenType.StartObject:
                    throw Bad(model, tensor, $"element {index} of 'data' is an object; elements must be {tensor.ElementType.ToProtocolName()} values.");
                default:
                    if (depth != rank)
                    {
                        throw Bad(model, tensor, $"nested 'data' has a value at depth {depth} but the shape {ShapeText(shape)} needs values at depth {rank}.");
                    }

                    counts[depth - 1]++;
                    if (index < tensor.ElementCount)
                    {
                        WriteElement(ref reader, tensor, index, model);
                    }

                    index++;
                    break;
            }

            reader.Read();
        }
    }

    private static void WriteElement(ref Utf8JsonReader reader, HostTensor tensor, long index, string model)
    {
        var type = tensor.ElementType;
        var data = tensor.Data;
        var i = (int)index;
        if (type == TensorElementType.String)
        {
            AppendString(ref reader, tensor, index, model);
            return;
        }

        if (type == TensorElementType.Bool)
        {
            data[i] = reader.TokenType switch
            {
                JsonTokenType.True => 1,
                JsonTokenType.False => 0,
                _ => throw Bad(model, tensor, $"element {index} is {Describe(ref reader)}; BOOL data must be true or false."),
            };
            return;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            if (reader.TokenType == JsonTokenType.String && TryReadSpecialFloat(ref reader, type, data, i))
            {
                return;
            }

            throw Bad(model, tensor, $"element {index} is {Describe(ref reader)}; {type.ToProtocolName()} data must be JSON numbers.");
        }

        var ok = type switch
        {
            // A number token's ValueSpan is its raw text. FastFloatParser rather than TryGetSingle/TryGetDouble:
            // the fast path's parser, so both paths give the same, correctly rounded, bits.
            TensorElementType.Float => Put(data, i, FastFloatParser.TryParse(reader.ValueSpan, out float f) && float.IsFinite(f), f),
            TensorElementType.Double => Put(data, i, FastFloatParser.TryParse(reader.ValueSpan, out double d) && double.IsFinite(d), d),
            TensorElementType.Float16 => PutHalf(data, i, reader.ValueSpan),
            TensorElementType.Int8 => Put(data, i, reader.TryGetSByte(out var i8), i8),
            TensorElementType.UInt8 => Put(data, i, reader.TryGetByte(out var u8), u8),
            TensorElementType.Int16 => Put(data, i, reader.TryGetInt16(out var i16), i16),
            TensorElementType.UInt16 => Put(data, i, reader.TryGetUInt16(out var u16), u16),
            TensorElementType.Int32 => Put(data, i, reader.TryGetInt32(out var i32), i32),
            TensorElementType.UInt32 => Put(data, i, reader.TryGetUInt32(out var u32), u32),
            TensorElementType.Int64 => Put(data, i, reader.TryGetInt64(out var i64), i64),
            TensorElementType.UInt64 => Put(data, i, reader.TryGetUInt64(out var u64), u64),
            _ => throw Bad(model, tensor, $"datatype {type} cannot be sent as JSON."),
        };
        if (!ok)
        {
            throw Bad(model, tensor, $"element {index} is {Encoding.UTF8.GetString(reader.ValueSpan)}, which is not a valid {type.ToProtocolName()}{RangeText(type)}.");
        }
    }

    private static bool Put<T>(Span<byte> data, int index, bool ok, T value) where T : unmanaged
    {
        if (ok)
        {
            MemoryMarshal.Cast<byte, T>(data)[index] = value;
        }

        return ok;
    }

    private static bool PutHalf(Span<byte> data, int index, ReadOnlySpan<byte> text)
    {
        if (!Half.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var h) || Half.IsInfinity(h))
        {
            return false;
        }

        MemoryMarshal.Cast<byte, Half>(data)[index] = h;
        return true;
    }

    private static bool TryReadSpecialFloat(ref Utf8JsonReader reader, TensorElementType type, Span<byte> data, int index)
    {
        if (type is not (TensorElementType.Float or TensorElementType.Double or TensorElementType.Float16) || reader.ValueIsEscaped)
        {
            return false;
        }

        var text = reader.ValueSpan;
        double value;
        if (text.SequenceEqual("NaN"u8))
        {
            value = double.NaN;
        }
        else if (text.SequenceEqual("Infinity"u8))
        {
            value = double.PositiveInfinity;
        }
        else if (text.SequenceEqual("-Infinity"u8))
        {
            value = double.NegativeInfinity;
        }
        else
        {
            return false;
        }

        switch (type)
        {
            case TensorElementType.Float:
                MemoryMarshal.Cast<byte, float>(data)[index] = (float)value;
                break;
            case TensorElementType.Double:
                MemoryMarshal.Cast<byte, double>(data)[index] = value;
                break;
            default:
                MemoryMarshal.Cast<byte, Half>(data)[index] = (Half)value;
                break;
        }

        return true;
    }

    private static void AppendString(ref Utf8JsonReader reader, HostTensor tensor, long index, string model)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw Bad(model, tensor, $"element {index} is {Describe(ref reader)}; BYTES data must be JSON strings.");
        }

        if (!reader.ValueIsEscaped)
        {
            tensor.AppendString(reader.ValueSpan);
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length);
        try
        {
            var written = reader.CopyString(scratch);
            tensor.AppendString(scratch.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"the string \"{reader.GetString()}\"",
        JsonTokenType.Number => $"the number {Encoding.UTF8.GetString(reader.ValueSpan)}",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        _ => reader.TokenType.ToString(),
    };

    private static string RangeText(TensorElementType type) => type switch
    {
        TensorElementType.Int8 => " (an integer from -128 to 127)",
        TensorElementType.UInt8 => " (an integer from 0 to 255)",
        TensorElementType.Int16 => " (an integer from -32768 to 32767)",
        TensorElementType.UInt16 => " (an integer from 0 to 65535)",
        TensorElementType.Int32 => " (an integer from -2147483648 to 2147483647)",
        TensorElementType.UInt32 => " (an integer from 0 to 4294967295)",
        TensorElementType.Int64 => " (an integer from -9223372036854775808 to 9223372036854775807)",
        TensorElementType.UInt64 => " (an integer from 0 to 18446744073709551615)",
        TensorElementType.Float16 => " (a finite number within +/-65504)",
        TensorElementType.Float => " (a finite number within +/-3.4028235E+38)",
        _ => string.Empty,
    };

    internal static string ShapeText(ReadOnlySpan<long> shape) => "[" + string.Join(",", shape.ToArray()) + "]";

    private static InferenceException Bad(string model, HostTensor tensor, string message) =>
        InferenceException.BadInput($"Model '{model}', input '{tensor.Name}': {message}", model, tensor.Name);
}
