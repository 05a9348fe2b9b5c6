namespace Serverless.Quantization.Onnx;

/// <summary>TensorProto.DataType values from the ONNX specification (only the ones the quantizer touches).</summary>
public static class OnnxDataType
{
    public const int Float = 1;
    public const int UInt8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int Float16 = 10;
    public const int Double = 11;

    public static string Name(int type) => type switch
    {
        Float => "FLOAT",
        UInt8 => "UINT8",
        Int8 => "INT8",
        Int32 => "INT32",
        Int64 => "INT64",
        Float16 => "FLOAT16",
        Double => "DOUBLE",
        _ => $"type {type}",
    };
}
