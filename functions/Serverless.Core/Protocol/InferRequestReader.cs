using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Reads the JSON infer request (<c>id</c>, <c>parameters</c>, <c>inputs</c>, <c>outputs</c>) with
/// <see cref="Utf8JsonReader"/> and validates every input against the model before any native call:
/// names (unknown, duplicate, missing), datatype, rank and fixed dimensions, element count and limits.
/// Input properties may come in any order: <c>data</c> is remembered as a byte range and parsed once the
/// input's object has been read. Binary inputs take their segment of <c>binary</c> in request order.
/// <para>
/// A flat <c>data</c> array (no brackets, braces or quotes inside) is not tokenized by this pass: the reader
/// jumps to its closing bracket and the data reader, whose flat scanner checks the JSON number grammar
/// itself, reads it once. That pass is optimistic: if anything in it fails, the request is read again the
/// plain way, tokenizing every byte in order, so a bad request gets exactly the error (and JSON position)
/// it always got. Only bad requests pay for two passes.
/// </para>
/// </summary>
internal static class InferRequestReader
{
    private const int MaxRank = 32;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    // The first of these after a data array's '[' tells whether the array is flat (it is ']').
    private static readonly SearchValues<byte> Structural = SearchValues.Create("[]{}\""u8);

    public static void Read(ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, bool binaryExtension, ModelSignature signature, InferRequest request, InferContext context)
    {
        try
        {
            ReadDocument(json, binary, binaryExtension, signature, request, context, skipFlatData: true);
            return;
        }
        catch (Exception e) when (e is InferenceException or JsonException)
        {
            // Fall through: the plain pass below reports the error the way it always has.
        }

        request.Release(context.Tensors);
        request.Reset(signature);
        ReadPlain(json, binary, binaryExtension, signature, request, context);
    }

    /// <summary>The plain pass alone: every byte tokenized in document order (what <see cref="Read"/> falls back to).</summary>
    internal static void ReadPlain(ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, bool binaryExtension, ModelSignature signature, InferRequest request, InferContext context) =>
        ReadDocument(json, binary, binaryExtension, signature, request, context, skipFlatData: false);

    private static void ReadDocument(ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, bool binaryExtension, ModelSignature signature, InferRequest request, InferContext context, bool skipFlatData)
    {
        // The reader may be restarted past a skipped data array; offset is where its buffer starts in json.
        var offset = 0;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw Bad(context, "The request body must be a JSON object with an 'inputs' array, e.g. {\"inputs\":[{\"name\":\"x\",\"shape\":[1,2],\"datatype\":\"FP32\",\"data\":[1,2]}]}.");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("inputs"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, context, "'inputs' must be an array of input objects.");
                var k = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    ReadInput(ref reader, ref offset, skipFlatData, json, binary, binaryExtension, k++, signature, request, context);
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, context, "'outputs' must be an array of objects like {\"name\":\"y\"}.");
                var k = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    ReadOutput(ref reader, k++, signature, request, context);
                }
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                Expect(ref reader, JsonTokenType.String, context, "'id' must be a string.");
                request.SetId(reader.ValueSpan);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Expect(ref reader, JsonTokenType.StartObject, context, "'parameters' must be an object.");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("binary_data_output"u8))
                    {
                        request.BinaryDataOutput = ReadBool(ref reader, context, "parameters.binary_data_output");
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                // model_name, model_version and extension fields we do not implement are accepted and ignored.
                reader.Read();
                reader.Skip();
            }
        }

        // Reading past the end object makes the reader reject trailing bytes.
        reader.Read();
        Finish(signature, request, binary, binaryExtension, context);
    }

    private static void ReadInput(ref Utf8JsonReader reader, ref int offset, bool skipFlatData, ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, bool binaryExtension, int k, ModelSignature signature, InferRequest request, InferContext context)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Bad(context, $"inputs[{k}] must be an object with name, shape, datatype and data.");
        }

        var index = -1;
        var type = TensorElementType.Undefined;
        Span<long> shapeBuffer = stackalloc long[MaxRank];
        var rank = -1;
        int dataStart = -1, dataEnd = -1;
        var dataSkipped = false; // dataStart..dataEnd was jumped over, not tokenized: only the data reader checks it
        long binarySize = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                Expect(ref reader, JsonTokenType.String, context, "inputs[#].name must be a string.", k);
                index = reader.ValueIsEscaped ? signature.FindInput(Encoding.UTF8.GetBytes(reader.GetString()!)) : signature.FindInput(reader.ValueSpan);
                if (index < 0)
                {
                    throw Bad(context, $"Unknown input '{reader.GetString()}'. The model's inputs are {signature.InputNameList}.", reader.GetString());
                }

                if (request.InputSeen[index])
                {
                    throw Bad(context, $"Input '{signature.Inputs[index].Name}' appears more than once in 'inputs'; send each input once.", signature.Inputs[index].Name);
                }

                request.InputSeen[index] = true;
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                Expect(ref reader, JsonTokenType.String, context, "inputs[#].datatype must be a string such as \"FP32\".", k);
                if (!TensorElementTypes.TryParseProtocolName(reader.ValueSpan, out type))
                {
                    throw Bad(context, $"inputs[{k}].datatype \"{reader.GetString()}\" is not a protocol datatype; use one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES.");
                }
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, context, "inputs[#].shape must be an array of integers, e.g. [1,3,48,192].", k);
                rank = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var d))
                    {
                        throw Bad(context, $"inputs[{k}].shape must be an array of integers, e.g. [1,3,48,192].");
                    }

                    if (rank == MaxRank)
                    {
                        throw Bad(context, $"inputs[{k}].shape has more than {MaxRank} dimensions.");
                    }

                    shapeBuffer[rank++] = d;
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                if (dataSkipped)
                {
                    // A repeated "data" replaces one nobody will check: leave it to the plain pass.
                    throw new JsonException("Repeated 'data' after a skipped array.");
                }

                reader.Read();
                dataStart = offset + (int)reader.TokenStartIndex;
                if (skipFlatData && reader.TokenType == JsonTokenType.StartArray && FlatArrayEnd(json, dataStart) is var close and >= 0)
                {
                    // Restart the reader on the closing bracket, in the state it had just after the opening one:
                    // it reads the bracket as the array's end and goes on as if it had read the elements.
                    reader = new Utf8JsonReader(json[close..], isFinalBlock: true, reader.CurrentState);
                    offset = close;
                    reader.Read();
                    dataEnd = close + 1;
                    dataSkipped = true;
                }
                else
                {
                    reader.Skip();
                    dataEnd = offset + (int)reader.BytesConsumed;
                }
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Expect(ref reader, JsonTokenType.StartObject, context, "inputs[#].parameters must be an object.", k);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("binary_data_size"u8))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out binarySize) || binarySize < 0)
                        {
                            throw Bad(context, $"inputs[{k}].parameters.binary_data_size must be a non-negative integer (the tensor's byte count in the binary part of the body).");
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (index < 0)
        {
            throw Bad(context, $"inputs[{k}] has no 'name'. The model's inputs are {signature.InputNameList}.");
        }

        var spec = signature.Inputs[index];
        if (type == TensorElementType.Undefined)
        {
            throw Bad(context, $"Input '{spec.Name}' has no 'datatype'; the model expects {spec.ElementType.ToProtocolName()}.", spec.Name);
        }

        if (type != spec.ElementType)
        {
            throw Bad(context, $"Input '{spec.Name}' has datatype {type.ToProtocolName()} but the model expects {spec.ElementType.ToProtocolName()}.", spec.Name);
        }

        if (rank < 0)
        {
            throw Bad(context, $"Input '{spec.Name}' has no 'shape'; the model expects {spec.ShapeText} (-1 = any size).", spec.Name);
        }

        var shape = shapeBuffer[..rank];
        CheckShape(shape, spec, context);
        if (dataStart >= 0 && binarySize >= 0)
        {
            throw Bad(context, $"Input '{spec.Name}' has both 'data' and parameters.binary_data_size; send its elements either as JSON 'data' or as binary data, not both.", spec.Name);
        }

        if (dataStart < 0 && binarySize < 0)
        {
            throw Bad(context, $"Input '{spec.Name}' has no 'data' (and no parameters.binary_data_size for binary data).", spec.Name);
        }

        var tensor = Rent(request, index, context);
        tensor.Initialize(spec.Name, spec.ElementType, shape, context.MaxTensorElements);
        if (dataStart >= 0)
        {
            JsonTensorDataReader.Read(json[dataStart..dataEnd], tensor, context.Model);
            return;
        }

        if (!binaryExtension)
        {
            throw Bad(context, $"Input '{spec.Name}' declares binary_data_size but the request has no Inference-Header-Content-Length header, so there is no binary part. Send the header with the JSON length, or send 'data' as JSON.", spec.Name);
        }

        var remaining = binary.Length - request.BinaryOffset;
        if (binarySize > remaining)
        {
            throw Bad(context, $"Input '{spec.Name}' declares binary_data_size {binarySize} but only {remaining} bytes of binary data remain after the JSON header (body has {binary.Length} binary bytes in all).", spec.Name);
        }

        var expected = BinaryTensorReader.ExpectedBytes(spec.ElementType, tensor.ElementCount);
        if (expected >= 0 && expected != binarySize)
        {
            throw Bad(context, $"Input '{spec.Name}' declares binary_data_size {binarySize} but shape {JsonTensorDataReader.ShapeText(shape)} of {spec.ElementType.ToProtocolName()} needs {expected} bytes.", spec.Name);
        }

        BinaryTensorReader.Read(binary.Slice((int)request.BinaryOffset, (int)binarySize), tensor, context.Model);
        request.BinaryOffset += binarySize;
    }

    // The index of the ']' that closes the array opened at json[open] when nothing nested or quoted comes
    // first, else -1. What lies between is unchecked here; the data reader checks it.
    private static int FlatArrayEnd(ReadOnlySpan<byte> json, int open)
    {
        var i = json[(open + 1)..].IndexOfAny(Structural);
        return i >= 0 && json[open + 1 + i] == (byte)']' ? open + 1 + i : -1;
    }

    private static void ReadOutput(ref Utf8JsonReader reader, int k, ModelSignature signature, InferRequest request, InferContext context)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Bad(context, $"outputs[{k}] must be an object like {{\"name\":\"y\"}}.");
        }

        var index = -1;
        var binary = false;
        var binarySet = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                Expect(ref reader, JsonTokenType.String, context, "outputs[#].name must be a string.", k);
                index = reader.ValueIsEscaped ? signature.FindOutput(Encoding.UTF8.GetBytes(reader.GetString()!)) : signature.FindOutput(reader.ValueSpan);
                if (index < 0)
                {
                    throw Bad(context, $"Unknown output '{reader.GetString()}'. The model's outputs are {signature.OutputNameList}.", reader.GetString());
                }
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Expect(ref reader, JsonTokenType.StartObject, context, "outputs[#].parameters must be an object.", k);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("binary_data"u8))
                    {
                        binary = ReadBool(ref reader, context, "outputs[#].parameters.binary_data", k);
                        binarySet = true;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (index < 0)
        {
            throw Bad(context, $"outputs[{k}] has no 'name'. The model's outputs are {signature.OutputNameList}.");
        }

        if (request.OutputSlot[index] >= 0)
        {
            throw Bad(context, $"Output '{signature.Outputs[index].Name}' is requested more than once.", signature.Outputs[index].Name);
        }

        var slot = request.OutputCount++;
        request.OutputSlot[index] = slot;
        request.OutputIndices[slot] = index;
        request.OutputBinary[slot] = binary;
        request.OutputBinaryExplicit[slot] = binarySet;
    }

    internal static void Finish(ModelSignature signature, InferRequest request, ReadOnlySpan<byte> binary, bool binaryExtension, InferContext context, bool rawBody = false)
    {
        for (var i = 0; i < signature.Inputs.Length; i++)
        {
            if (!request.InputSeen[i])
            {
                throw Bad(context, $"Missing input '{signature.Inputs[i].Name}'. The model's inputs are {signature.InputNameList}.", signature.Inputs[i].Name);
            }
        }

        if (binaryExtension && !rawBody && request.BinaryOffset != binary.Length)
        {
            throw Bad(context, $"The body has {binary.Length} bytes of binary data after the {context.HeaderLength}-byte JSON header, but the inputs' binary_data_size values add up to {request.BinaryOffset}. Make Inference-Header-Content-Length and binary_data_size match the body.");
        }

        if (request.OutputCount == 0)
        {
            for (var i = 0; i < signature.Outputs.Length; i++)
            {
                request.OutputIndices[i] = i;
                request.OutputSlot[i] = i;
                request.OutputBinary[i] = request.BinaryDataOutput;
            }

            request.OutputCount = signature.Outputs.Length;
            return;
        }

        for (var s = 0; s < request.OutputCount; s++)
        {
            if (!request.OutputBinaryExplicit[s])
            {
                request.OutputBinary[s] = request.BinaryDataOutput;
            }
        }
    }

    private static void CheckShape(ReadOnlySpan<long> shape, TensorSpec spec, InferContext context)
    {
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
            {
                throw Bad(context, $"Input '{spec.Name}': dimension {i} of shape {JsonTensorDataReader.ShapeText(shape)} is negative; dimensions must be 0 or more.", spec.Name);
            }
        }

        if (spec.Shape.Length != shape.Length)
        {
            throw Bad(context, $"Input '{spec.Name}' has shape {JsonTensorDataReader.ShapeText(shape)} (rank {shape.Length}) but the model expects rank {spec.Shape.Length}: {spec.ShapeText} (-1 = any size).", spec.Name);
        }

        for (var i = 0; i < shape.Length; i++)
        {
            if (spec.Shape[i] >= 0 && spec.Shape[i] != shape[i])
            {
                throw Bad(context, $"Input '{spec.Name}' has shape {JsonTensorDataReader.ShapeText(shape)} but the model expects {spec.ShapeText}: dimension {i} must be {spec.Shape[i]}, got {shape[i]}.", spec.Name);
            }
        }
    }

    internal static HostTensor Rent(InferRequest request, int index, InferContext context)
    {
        var tensor = context.Tensors.Rent();
        request.Inputs[index] = tensor;
        return tensor;
    }

    private static bool ReadBool(ref Utf8JsonReader reader, InferContext context, string what, int index = -1)
    {
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw Bad(context, (index < 0 ? what : what.Replace("#", index.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)) + " must be true or false."),
        };
    }

    // The message is a constant with '#' for the element index, formatted only on failure so that the
    // success path builds no strings.
    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, InferContext context, string message, int index = -1)
    {
        reader.Read();
        if (reader.TokenType != type)
        {
            throw Bad(context, index < 0 ? message : message.Replace("#", index.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }
    }

    internal static InferenceException Bad(InferContext context, string message, string? tensor = null) =>
        InferenceException.BadInput($"Model '{context.Model}': {message}", context.Model, tensor);
}
