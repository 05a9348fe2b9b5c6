using System.Buffers;
using System.Buffers.Binary;
using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Writes the infer response: <c>model_name</c>, <c>model_version</c>, the echoed <c>id</c> and the
/// <c>outputs</c> with name, datatype, shape and either JSON <c>data</c> or, for binary outputs,
/// <c>parameters.binary_data_size</c>, followed after the JSON by the binary outputs' bytes in the same
/// order (the binary tensor data extension). Elements go straight from the output tensors to the writer.
/// </summary>
internal static class InferResponseWriter
{
    public static InferResult Write(IBufferWriter<byte> writer, long limit, string model, string version, InferRequest request)
    {
        var sink = new Utf8Sink(writer, limit);
        var hasBinary = false;
        sink.Write("{\"model_name\":"u8);
        sink.WriteJsonString(model);
        sink.Write(",\"model_version\":"u8);
        sink.WriteJsonString(version);
        if (request.HasId)
        {
            sink.Write(",\"id\":"u8);
            sink.WriteQuotedRaw(request.Id);
        }

        sink.Write(",\"outputs\":["u8);
        for (var s = 0; s < request.OutputCount; s++)
        {
            var tensor = request.Results[s]!;
            sink.Write(s == 0 ? "{\"name\":"u8 : ",{\"name\":"u8);
            sink.WriteJsonString(tensor.Name);
            sink.Write(",\"datatype\":\""u8);
            sink.Write(DatatypeBytes(tensor.ElementType));
            sink.Write("\",\"shape\":["u8);
            var shape = tensor.Shape;
            for (var d = 0; d < shape.Length; d++)
            {
                if (d > 0)
                {
                    sink.Write(","u8);
                }

                sink.WriteInt64(shape[d]);
            }

            sink.Write("]"u8);
            if (request.OutputBinary[s])
            {
                hasBinary = true;
                sink.Write(",\"parameters\":{\"binary_data_size\":"u8);
                sink.WriteInt64(BinarySize(tensor));
                sink.Write("}}"u8);
            }
            else
            {
                sink.Write(",\"data\":"u8);
                JsonNumberFormatter.WriteData(ref sink, tensor);
                sink.Write("}"u8);
            }
        }

        sink.Write("]}"u8);
        var jsonLength = sink.Count;
        if (hasBinary)
        {
            for (var s = 0; s < request.OutputCount; s++)
            {
                if (request.OutputBinary[s])
                {
                    WriteBinary(ref sink, request.Results[s]!);
                }
            }
        }

        return new InferResult(jsonLength, sink.Count, hasBinary);
    }

    /// <summary>Bytes the tensor occupies as binary data: its elements, or for BYTES a 4-byte length before each element.</summary>
    public static long BinarySize(ITensorData tensor)
    {
        if (tensor.ElementType != TensorElementType.String)
        {
            return tensor.Bytes.Length;
        }

        long total = 0;
        for (long i = 0; i < tensor.ElementCount; i++)
        {
            total += 4 + tensor.GetStringBytes(i).Length;
        }

        return total;
    }

    private static void WriteBinary(ref Utf8Sink sink, ITensorData tensor)
    {
        if (tensor.ElementType != TensorElementType.String)
        {
            var bytes = tensor.Bytes;
            while (!bytes.IsEmpty)
            {
                // Bounded chunks keep a huge tensor from asking the writer for one giant span.
                var span = sink.GetSpan(Math.Min(bytes.Length, 1 << 20));
                var n = Math.Min(span.Length, bytes.Length);
                bytes[..n].CopyTo(span);
                sink.Advance(n);
                bytes = bytes[n..];
            }

            return;
        }

        Span<byte> length = stackalloc byte[4];
        for (long i = 0; i < tensor.ElementCount; i++)
        {
            var element = tensor.GetStringBytes(i);
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)element.Length);
            sink.Write(length);
            sink.Write(element);
        }
    }

    private static ReadOnlySpan<byte> DatatypeBytes(TensorElementType type) => type switch
    {
        TensorElementType.Bool => "BOOL"u8,
        TensorElementType.UInt8 => "UINT8"u8,
        TensorElementType.UInt16 => "UINT16"u8,
        TensorElementType.UInt32 => "UINT32"u8,
        TensorElementType.UInt64 => "UINT64"u8,
        TensorElementType.Int8 => "INT8"u8,
        TensorElementType.Int16 => "INT16"u8,
        TensorElementType.Int32 => "INT32"u8,
        TensorElementType.Int64 => "INT64"u8,
        TensorElementType.Float16 => "FP16"u8,
        TensorElementType.Float => "FP32"u8,
        TensorElementType.Double => "FP64"u8,
        TensorElementType.String => "BYTES"u8,
        TensorElementType.BFloat16 => "BF16"u8,
        _ => throw new Errors.InferenceException(Errors.ErrorCode.Internal, $"An output has element type {type}, which the protocol cannot carry."),
    };
}

/// <summary>
/// What an infer wrote: the JSON header's length, the total length, and whether binary tensor data follows
/// the JSON (then the transport sends Inference-Header-Content-Length = <see cref="JsonLength"/>).
/// </summary>
public readonly record struct InferResult(long JsonLength, long TotalLength, bool HasBinary);
