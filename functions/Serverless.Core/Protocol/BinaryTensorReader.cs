using System.Buffers.Binary;
using Serverless.Core.Errors;
using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Copies one input's segment of binary tensor data (the binary tensor data extension) into an initialized
/// <see cref="HostTensor"/>: little-endian, row-major, no padding; BOOL is one byte (0 or 1); each BYTES
/// element is a 4-byte little-endian length followed by that many bytes.
/// </summary>
internal static class BinaryTensorReader
{
    /// <summary>Bytes a fixed-size tensor of <paramref name="elementCount"/> elements occupies, or -1 for BYTES.</summary>
    public static long ExpectedBytes(TensorElementType type, long elementCount) =>
        type == TensorElementType.String ? -1 : elementCount * type.SizeInBytes();

    public static void Read(ReadOnlySpan<byte> segment, HostTensor tensor, string model)
    {
        if (tensor.ElementType == TensorElementType.String)
        {
            ReadStrings(segment, tensor, model);
            return;
        }

        var data = tensor.Data;
        if (segment.Length != data.Length)
        {
            throw Bad(model, tensor, $"binary_data_size is {segment.Length} bytes but shape {JsonTensorDataReader.ShapeText(tensor.Shape)} of {tensor.ElementType.ToProtocolName()} needs {data.Length} bytes ({tensor.ElementCount} elements x {tensor.ElementType.SizeInBytes()} bytes).");
        }

        segment.CopyTo(data);
        if (tensor.ElementType == TensorElementType.Bool)
        {
            var bad = data.IndexOfAnyExcept((byte)0, (byte)1);
            if (bad >= 0)
            {
                throw Bad(model, tensor, $"BOOL element {bad} is the byte {data[bad]}; binary BOOL elements must be 0 or 1.");
            }
        }
    }

    private static void ReadStrings(ReadOnlySpan<byte> segment, HostTensor tensor, string model)
    {
        var position = 0;
        for (long i = 0; i < tensor.ElementCount; i++)
        {
            if (segment.Length - position < 4)
            {
                throw Bad(model, tensor, $"binary BYTES data ends after {i} of {tensor.ElementCount} elements; each element needs a 4-byte little-endian length followed by its bytes.");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(segment[position..]);
            position += 4;
            if (length > (uint)(segment.Length - position))
            {
                throw Bad(model, tensor, $"BYTES element {i} declares {length} bytes but only {segment.Length - position} remain in the tensor's {segment.Length} bytes of binary data.");
            }

            tensor.AppendString(segment.Slice(position, (int)length));
            position += (int)length;
        }

        if (position != segment.Length)
        {
            throw Bad(model, tensor, $"binary BYTES data has {segment.Length - position} bytes left after the {tensor.ElementCount} elements of shape {JsonTensorDataReader.ShapeText(tensor.Shape)}; binary_data_size must cover exactly the elements.");
        }
    }

    private static InferenceException Bad(string model, HostTensor tensor, string message) =>
        InferenceException.BadInput($"Model '{model}', input '{tensor.Name}': {message}", model, tensor.Name);
}
