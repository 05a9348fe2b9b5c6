namespace Serverless.Core.Tensors;

/// <summary>
/// Tensor element types. The numeric values are ONNX's <c>TensorProto.DataType</c> (and ONNX Runtime's
/// <c>ONNXTensorElementDataType</c>), so a value converts to and from native code without a table.
/// </summary>
public enum TensorElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
}

public static class TensorElementTypes
{
    /// <summary>Size in bytes of one element, or 0 for <see cref="TensorElementType.String"/> (variable) and unsupported types.</summary>
    public static int SizeInBytes(this TensorElementType type) => type switch
    {
        TensorElementType.Bool or TensorElementType.UInt8 or TensorElementType.Int8 => 1,
        TensorElementType.UInt16 or TensorElementType.Int16 or TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        TensorElementType.UInt32 or TensorElementType.Int32 or TensorElementType.Float => 4,
        TensorElementType.UInt64 or TensorElementType.Int64 or TensorElementType.Double or TensorElementType.Complex64 => 8,
        TensorElementType.Complex128 => 16,
        _ => 0,
    };

    /// <summary>True for the types the Open Inference Protocol names (BOOL, UINT8..64, INT8..64, FP16/32/64, BYTES).</summary>
    public static bool IsProtocolType(this TensorElementType type) => type.ToProtocolName() is not null;

    /// <summary>The Open Inference Protocol datatype name ("FP32", "BYTES", ...), or null when the protocol has none.</summary>
    public static string? ToProtocolName(this TensorElementType type) => type switch
    {
        TensorElementType.Bool => "BOOL",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.UInt16 => "UINT16",
        TensorElementType.UInt32 => "UINT32",
        TensorElementType.UInt64 => "UINT64",
        TensorElementType.Int8 => "INT8",
        TensorElementType.Int16 => "INT16",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int64 => "INT64",
        TensorElementType.Float16 => "FP16",
        TensorElementType.Float => "FP32",
        TensorElementType.Double => "FP64",
        TensorElementType.String => "BYTES",
        TensorElementType.BFloat16 => "BF16",
        _ => null,
    };

    /// <summary>Parses a protocol datatype name (case-sensitive, as the protocol specifies).</summary>
    public static bool TryParseProtocolName(ReadOnlySpan<byte> utf8Name, out TensorElementType type)
    {
        type = utf8Name switch
        {
            _ when utf8Name.SequenceEqual("FP32"u8) => TensorElementType.Float,
            _ when utf8Name.SequenceEqual("INT64"u8) => TensorElementType.Int64,
            _ when utf8Name.SequenceEqual("INT32"u8) => TensorElementType.Int32,
            _ when utf8Name.SequenceEqual("BYTES"u8) => TensorElementType.String,
            _ when utf8Name.SequenceEqual("BOOL"u8) => TensorElementType.Bool,
            _ when utf8Name.SequenceEqual("UINT8"u8) => TensorElementType.UInt8,
            _ when utf8Name.SequenceEqual("UINT16"u8) => TensorElementType.UInt16,
            _ when utf8Name.SequenceEqual("UINT32"u8) => TensorElementType.UInt32,
            _ when utf8Name.SequenceEqual("UINT64"u8) => TensorElementType.UInt64,
            _ when utf8Name.SequenceEqual("INT8"u8) => TensorElementType.Int8,
            _ when utf8Name.SequenceEqual("INT16"u8) => TensorElementType.Int16,
            _ when utf8Name.SequenceEqual("FP16"u8) => TensorElementType.Float16,
            _ when utf8Name.SequenceEqual("FP64"u8) => TensorElementType.Double,
            _ when utf8Name.SequenceEqual("BF16"u8) => TensorElementType.BFloat16,
            _ => TensorElementType.Undefined,
        };
        return type != TensorElementType.Undefined;
    }

    public static bool TryParseProtocolName(string name, out TensorElementType type) =>
        TryParseProtocolName(System.Text.Encoding.UTF8.GetBytes(name), out type);
}
