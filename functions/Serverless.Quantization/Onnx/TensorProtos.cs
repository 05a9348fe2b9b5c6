using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Serverless.Core.Errors;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Onnx;

/// <summary>Reads and builds initializer tensors. New tensors always use raw_data, the compact form ORT reads fastest.</summary>
public static class TensorProtos
{
    public static long ElementCount(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long n = 1;
        foreach (var d in tensor.Dims)
        {
            n *= d;
        }

        return n;
    }

    /// <summary>The elements of a FLOAT tensor, from raw_data or float_data.</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DataType != OnnxDataType.Float)
        {
            throw InferenceException.BadInput($"Initializer '{tensor.Name}' is {OnnxDataType.Name(tensor.DataType)}, expected FLOAT.", tensor: tensor.Name);
        }

        if (tensor.HasRawData)
        {
            var raw = tensor.RawData.Span;
            var values = new float[raw.Length / 4];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
            }

            return values;
        }

        return [.. tensor.FloatData];
    }

    /// <summary>The elements of an INT64 tensor, from raw_data or int64_data.</summary>
    public static long[] ReadInt64s(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DataType != OnnxDataType.Int64)
        {
            throw InferenceException.BadInput($"Initializer '{tensor.Name}' is {OnnxDataType.Name(tensor.DataType)}, expected INT64.", tensor: tensor.Name);
        }

        if (tensor.HasRawData)
        {
            var raw = tensor.RawData.Span;
            var values = new long[raw.Length / 8];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * 8, 8));
            }

            return values;
        }

        return [.. tensor.Int64Data];
    }

    public static TensorProto Float(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return Build(name, OnnxDataType.Float, dims, bytes);
    }

    public static TensorProto Int8(string name, ReadOnlySpan<long> dims, ReadOnlySpan<sbyte> values) =>
        Build(name, OnnxDataType.Int8, dims, MemoryMarshal.AsBytes(values).ToArray());

    public static TensorProto UInt8(string name, ReadOnlySpan<long> dims, ReadOnlySpan<byte> values) =>
        Build(name, OnnxDataType.UInt8, dims, values.ToArray());

    public static TensorProto Int32(string name, ReadOnlySpan<long> dims, ReadOnlySpan<int> values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return Build(name, OnnxDataType.Int32, dims, bytes);
    }

    public static TensorProto Int64(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values)
    {
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        }

        return Build(name, OnnxDataType.Int64, dims, bytes);
    }

    private static TensorProto Build(string name, int type, ReadOnlySpan<long> dims, byte[] bytes)
    {
        var tensor = new TensorProto { Name = name, DataType = type, RawData = ByteString.CopyFrom(bytes) };
        foreach (var d in dims)
        {
            tensor.Dims.Add(d);
        }

        return tensor;
    }
}
