using Google.Protobuf;
using Serverless.Core.Errors;
using Serverless.Quantization.Proto;

namespace Serverless.Quantization.Onnx;

/// <summary>
/// Reads and writes ONNX model files. Tensors stored as external data (files next to the model) are
/// pulled into the model on load, so the rest of the quantizer only ever sees in-memory tensors.
/// Serialization is deterministic: the same model always gives the same bytes, which is what lets
/// setup regenerate an int8 artifact whose SHA-256 is pinned in a manifest.
/// </summary>
public static class OnnxModelFile
{
    /// <summary>Protobuf messages are limited to 2 GiB; a model file past that must keep its weights in external data.</summary>
    public const long ProtobufLimit = int.MaxValue;

    /// <summary>Reads a model file and inlines its external data (which must sit inside the model's folder).</summary>
    public static ModelProto Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw InferenceException.NotFound($"Model file '{path}' does not exist. Check the path (./build.sh setup fetches the models into .cache/store).");
        }

        if (info.Length > ProtobufLimit)
        {
            throw InferenceException.BadInput(
                $"Model file '{path}' is {info.Length} bytes, over the 2 GiB protobuf limit. Save the model with its weights as external data (onnx.save(..., save_as_external_data=True)) and load that instead.");
        }

        ModelProto model;
        try
        {
            using var stream = info.OpenRead();
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw InferenceException.BadInput($"File '{path}' is not a valid ONNX model: {e.Message}");
        }

        if (model.Graph is null)
        {
            throw InferenceException.BadInput($"Model '{path}' has no graph; it is not an ONNX model file.");
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var tensor in model.Graph.Initializer)
        {
            if (tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                InlineExternalData(tensor, folder, path);
            }
        }

        return model;
    }

    /// <summary>Parses model bytes; external data is not allowed here because there is no folder to read it from.</summary>
    public static ModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        var model = ModelProto.Parser.ParseFrom(bytes);
        foreach (var tensor in model.Graph?.Initializer ?? [])
        {
            if (tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                throw InferenceException.BadInput($"Initializer '{tensor.Name}' keeps its data in an external file; load the model from its file path so the data can be found next to it.");
            }
        }

        return model;
    }

    /// <summary>The model's bytes. Throws when the model would exceed the protobuf limit.</summary>
    public static byte[] Serialize(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long payload = 0;
        foreach (var tensor in model.Graph?.Initializer ?? [])
        {
            payload += tensor.RawData.Length + (tensor.FloatData.Count * 4L) + (tensor.Int64Data.Count * 8L) + (tensor.Int32Data.Count * 4L);
        }

        if (payload > ProtobufLimit)
        {
            throw InferenceException.BadInput(
                $"Model '{model.Graph?.Name}' holds {payload} bytes of weights, over the 2 GiB protobuf limit; it cannot be written as one file.");
        }

        return model.ToByteArray();
    }

    /// <summary>Writes the model to <paramref name="path"/> (through a temporary file, so a crash never leaves half a model).</summary>
    public static void Save(ModelProto model, string path)
    {
        var bytes = Serialize(model);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, full, overwrite: true);
    }

    private static void InlineExternalData(TensorProto tensor, string folder, string modelPath)
    {
        string? location = null;
        long offset = 0;
        long length = -1;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = ParseLong(entry.Value, tensor.Name, "offset"); break;
                case "length": length = ParseLong(entry.Value, tensor.Name, "length"); break;
                default: break; // "checksum" and future keys are advisory
            }
        }

        if (string.IsNullOrEmpty(location))
        {
            throw InferenceException.BadInput($"Initializer '{tensor.Name}' in '{modelPath}' is marked EXTERNAL but names no 'location'. Re-export the model with its external data.", tensor: tensor.Name);
        }

        // A model file is untrusted input: "../../etc/passwd" or an absolute path must not escape the model's folder.
        var file = Path.GetFullPath(Path.Combine(folder, location));
        var root = folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar;
        if (Path.IsPathRooted(location) || !file.StartsWith(root, StringComparison.Ordinal))
        {
            throw InferenceException.BadInput(
                $"Initializer '{tensor.Name}': external data location '{location}' points outside the model folder '{folder}'. External data files must sit next to the model.", tensor: tensor.Name);
        }

        var info = new FileInfo(file);
        if (!info.Exists)
        {
            throw InferenceException.BadInput($"Initializer '{tensor.Name}': external data file '{location}' is missing from '{folder}'. Copy it next to the model.", tensor: tensor.Name);
        }

        if (length < 0)
        {
            length = info.Length - offset;
        }

        if (offset < 0 || offset + length > info.Length)
        {
            throw InferenceException.BadInput(
                $"Initializer '{tensor.Name}': external data asks for bytes {offset}..{offset + length} of '{location}', which has {info.Length} bytes.", tensor: tensor.Name);
        }

        if (length > Array.MaxLength)
        {
            throw InferenceException.BadInput($"Initializer '{tensor.Name}' is {length} bytes, more than one tensor can hold in memory here.", tensor: tensor.Name);
        }

        var data = new byte[length];
        using (var stream = info.OpenRead())
        {
            stream.Seek(offset, SeekOrigin.Begin);
            stream.ReadExactly(data);
        }

        tensor.RawData = ByteString.CopyFrom(data);
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
    }

    private static long ParseLong(string value, string tensor, string key) =>
        long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v
            : throw InferenceException.BadInput($"Initializer '{tensor}': external data '{key}' is '{value}', not a non-negative integer.", tensor: tensor);
}
