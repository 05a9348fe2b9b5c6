using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// The raw binary form of the binary tensor data extension: with <c>Inference-Header-Content-Length: 0</c>
/// the whole body is the data of a single-input model's only input, with no JSON at all. The shape comes
/// from the model; only its first (batch) dimension may be dynamic, inferred as body length / item size.
/// Every output is returned as binary data behind a JSON header that gives its shape.
/// </summary>
internal static class RawBinaryRequestReader
{
    /// <summary>
    /// Raw binary mode (Inference-Header-Content-Length: 0): the whole body is the only input's data. The
    /// shape comes from the model; at most the first dimension may be dynamic, and is inferred from the size.
    /// </summary>
    public static void Read(ReadOnlySpan<byte> body, ModelSignature signature, InferRequest request, InferContext context)
    {
        if (signature.Inputs.Length != 1)
        {
            throw InferRequestReader.Bad(context, $"A raw binary body (Inference-Header-Content-Length: 0) only works for models with one input; this model has {signature.Inputs.Length}: {signature.InputNameList}. Send a JSON header with binary_data_size per input instead.");
        }

        var spec = signature.Inputs[0];
        var size = spec.ElementType.SizeInBytes();
        if (spec.ElementType == TensorElementType.String || size == 0)
        {
            throw InferRequestReader.Bad(context, $"Input '{spec.Name}' is {spec.ElementType.ToProtocolName()}; a raw binary body only carries fixed-size types. Send a JSON header with binary_data_size.", spec.Name);
        }

        Span<long> shape = stackalloc long[Math.Max(spec.Shape.Length, 1)];
        shape = shape[..spec.Shape.Length];
        long inner = size;
        for (var i = 0; i < spec.Shape.Length; i++)
        {
            var d = spec.Shape[i];
            if (d < 0 && i > 0)
            {
                throw InferRequestReader.Bad(context, $"Input '{spec.Name}' has shape {spec.ShapeText}: only the first dimension may be dynamic for a raw binary body, so its shape cannot be inferred. Send a JSON header with the shape and binary_data_size (Inference-Header-Content-Length: <header length>).", spec.Name);
            }

            shape[i] = d;
            if (i > 0)
            {
                inner = checked(inner * d);
            }
        }

        if (shape.Length > 0 && shape[0] < 0)
        {
            if (inner == 0 || body.Length % inner != 0)
            {
                throw InferRequestReader.Bad(context, $"Input '{spec.Name}' has shape {spec.ShapeText}: a raw body must hold a whole number of {inner}-byte items, but it has {body.Length} bytes.", spec.Name);
            }

            shape[0] = body.Length / inner;
        }

        var tensor = InferRequestReader.Rent(request, 0, context);
        tensor.Initialize(spec.Name, spec.ElementType, shape, context.MaxTensorElements);
        request.InputSeen[0] = true;
        BinaryTensorReader.Read(body, tensor, context.Model);
        request.BinaryDataOutput = true;
        InferRequestReader.Finish(signature, request, body, binaryExtension: true, context, rawBody: true);
    }
}
