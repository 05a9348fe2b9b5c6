using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Writes a tensor's elements as the JSON array of its <c>data</c>, straight from the tensor's bytes.
/// Floating-point values use the shortest text that parses back to the same bits (.NET's default
/// round-trip formatting). JSON numbers cannot hold NaN or infinities, so they are written as the strings
/// "NaN", "Infinity" and "-Infinity", which <see cref="JsonTensorDataReader"/> also accepts on input.
/// </summary>
internal static class JsonNumberFormatter
{
    // Longest element text: a negative double in E notation or -9223372036854775808 is under 32 bytes.
    private const int MaxElementBytes = 32;
    private const int ChunkBytes = 4096;

    public static void WriteData(ref Utf8Sink sink, ITensorData tensor)
    {
        var bytes = tensor.Bytes;
        switch (tensor.ElementType)
        {
            case TensorElementType.Float: WriteArray<float, SingleFormat>(ref sink, MemoryMarshal.Cast<byte, float>(bytes)); break;
            case TensorElementType.Double: WriteArray<double, DoubleFormat>(ref sink, MemoryMarshal.Cast<byte, double>(bytes)); break;
            case TensorElementType.Float16: WriteArray<Half, HalfFormat>(ref sink, MemoryMarshal.Cast<byte, Half>(bytes)); break;
            case TensorElementType.Int8: WriteArray<sbyte, IntegerFormat<sbyte>>(ref sink, MemoryMarshal.Cast<byte, sbyte>(bytes)); break;
            case TensorElementType.UInt8: WriteArray<byte, IntegerFormat<byte>>(ref sink, bytes); break;
            case TensorElementType.Int16: WriteArray<short, IntegerFormat<short>>(ref sink, MemoryMarshal.Cast<byte, short>(bytes)); break;
            case TensorElementType.UInt16: WriteArray<ushort, IntegerFormat<ushort>>(ref sink, MemoryMarshal.Cast<byte, ushort>(bytes)); break;
            case TensorElementType.Int32: WriteArray<int, IntegerFormat<int>>(ref sink, MemoryMarshal.Cast<byte, int>(bytes)); break;
            case TensorElementType.UInt32: WriteArray<uint, IntegerFormat<uint>>(ref sink, MemoryMarshal.Cast<byte, uint>(bytes)); break;
            case TensorElementType.Int64: WriteArray<long, IntegerFormat<long>>(ref sink, MemoryMarshal.Cast<byte, long>(bytes)); break;
            case TensorElementType.UInt64: WriteArray<ulong, IntegerFormat<ulong>>(ref sink, MemoryMarshal.Cast<byte, ulong>(bytes)); break;
            case TensorElementType.Bool: WriteArray<byte, BoolFormat>(ref sink, bytes); break;
            case TensorElementType.String: WriteStrings(ref sink, tensor); break;
            default:
                throw new Errors.InferenceException(Errors.ErrorCode.Internal, $"Output '{tensor.Name}' has element type {tensor.ElementType}, which the protocol cannot carry.");
        }
    }

    /// <summary>Formats one value the way <see cref="WriteData"/> does (for tests and single values).</summary>
    public static int FormatFloat(float value, Span<byte> destination)
    {
        if (!float.IsFinite(value))
        {
            return NonFinite(float.IsNaN(value), value < 0, destination);
        }

        // Most tensor floats (magnitudes 2^-30 to 10^9) take the exact integer formatter, which writes the
        // runtime's text; the rest, and the few it declines, take the runtime's formatter.
        if (ShortestFloatFormatter.TryFormat(value, destination) is var fast and > 0)
        {
            return fast;
        }

        value.TryFormat(destination, out var n, default, CultureInfo.InvariantCulture);
        return n;
    }

    /// <inheritdoc cref="FormatFloat(float, Span{byte})"/>
    public static int FormatFloat(double value, Span<byte> destination)
    {
        if (!double.IsFinite(value))
        {
            return NonFinite(double.IsNaN(value), value < 0, destination);
        }

        value.TryFormat(destination, out var n, default, CultureInfo.InvariantCulture);
        return n;
    }

    private static int NonFinite(bool nan, bool negative, Span<byte> destination) =>
        Copy(nan ? "\"NaN\""u8 : negative ? "\"-Infinity\""u8 : "\"Infinity\""u8, destination);

    // One chunked loop for every fixed-size type; TFormat is a struct with a static Format, so each
    // instantiation is specialized by the JIT and the per-element call is direct (no delegate, no boxing).
    // T has no constraint: crossgen2 precompiles an instantiation over a primitive type only then (see
    // FastFloatParser.Parse), and the float and double formats are non-generic structs for the same reason.
    private static void WriteArray<T, TFormat>(ref Utf8Sink sink, ReadOnlySpan<T> values)
        where TFormat : struct, IElementFormat<T>
    {
        sink.Write("["u8);
        var span = sink.GetSpan(ChunkBytes);
        var pos = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (span.Length - pos < MaxElementBytes)
            {
                sink.Advance(pos);
                span = sink.GetSpan(ChunkBytes);
                pos = 0;
            }

            if (i > 0)
            {
                span[pos++] = (byte)',';
            }

            pos += TFormat.Format(values[i], span[pos..]);
        }

        sink.Advance(pos);
        sink.Write("]"u8);
    }

    private interface IElementFormat<T>
    {
        /// <summary>Writes one element (at most <see cref="MaxElementBytes"/> bytes) and returns its length.</summary>
        static abstract int Format(T value, Span<byte> destination);
    }

    private readonly struct SingleFormat : IElementFormat<float>
    {
        public static int Format(float value, Span<byte> destination) => FormatFloat(value, destination);
    }

    private readonly struct DoubleFormat : IElementFormat<double>
    {
        public static int Format(double value, Span<byte> destination) => FormatFloat(value, destination);
    }

    // FP16 is written as the float it widens to (exact), not Half's shortest text: 65504 rather than 65500,
    // which a client parsing into float32 would otherwise read as a different value.
    private readonly struct HalfFormat : IElementFormat<Half>
    {
        public static int Format(Half value, Span<byte> destination) => FormatFloat((float)value, destination);
    }

    private readonly struct IntegerFormat<T> : IElementFormat<T> where T : unmanaged, IBinaryInteger<T>
    {
        public static int Format(T value, Span<byte> destination)
        {
            value.TryFormat(destination, out var written, default, CultureInfo.InvariantCulture);
            return written;
        }
    }

    private readonly struct BoolFormat : IElementFormat<byte>
    {
        public static int Format(byte value, Span<byte> destination) => Copy(value != 0 ? "true"u8 : "false"u8, destination);
    }

    private static void WriteStrings(ref Utf8Sink sink, ITensorData tensor)
    {
        sink.Write("["u8);
        for (long i = 0; i < tensor.ElementCount; i++)
        {
            if (i > 0)
            {
                sink.Write(","u8);
            }

            if (!sink.TryWriteJsonString(tensor.GetStringBytes(i)))
            {
                throw Errors.InferenceException.BadInput($"Element {i} of BYTES output '{tensor.Name}' is not valid UTF-8, so it cannot be written as a JSON string. Request it as binary data (parameters.binary_data: true).", tensor: tensor.Name);
            }
        }

        sink.Write("]"u8);
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        text.CopyTo(destination);
        return text.Length;
    }
}
