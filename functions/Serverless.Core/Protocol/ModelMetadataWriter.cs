using System.Buffers;
using System.Text.Json;
using Serverless.Core.Models;
using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Writes the protocol's small JSON documents: server metadata, model metadata, readiness, the repository
/// index and errors. These are not on the hot path, so they use <see cref="Utf8JsonWriter"/> for safety, with
/// <see cref="ErrorBody.WriterOptions"/> so reasons and errors read cleanly in a terminal.
/// </summary>
internal static class ModelMetadataWriter
{
    /// <summary>The protocol extensions this handler implements, as reported by <c>GET /v2</c>.</summary>
    public static readonly string[] Extensions = ["binary_tensor_data", "model_repository"];

    public static void WriteServerMetadata(IBufferWriter<byte> output, ProtocolOptions options)
    {
        using var json = new Utf8JsonWriter(output, ErrorBody.WriterOptions);
        json.WriteStartObject();
        json.WriteString("name", options.ServerName);
        json.WriteString("version", options.ServerVersion);
        json.WriteStartArray("extensions");
        foreach (var extension in Extensions)
        {
            json.WriteStringValue(extension);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static void WriteModelMetadata(IBufferWriter<byte> output, ModelManifest manifest, string? version, IReadOnlyList<TensorSpec>? inputs, IReadOnlyList<TensorSpec>? outputs)
    {
        using var json = new Utf8JsonWriter(output, ErrorBody.WriterOptions);
        json.WriteStartObject();
        json.WriteString("name", manifest.Name);
        json.WriteStartArray("versions");
        if (version is not null)
        {
            json.WriteStringValue(version);
        }
        else
        {
            foreach (var v in manifest.Versions)
            {
                json.WriteStringValue(v.Version);
            }
        }

        json.WriteEndArray();
        json.WriteString("platform", manifest.Platform);
        WriteTensors(json, "inputs", manifest.Inputs, inputs);
        WriteTensors(json, "outputs", manifest.Outputs, outputs);
        json.WriteEndObject();
    }

    public static void WriteReadiness(IBufferWriter<byte> output, string? model, string? version, bool ready, ModelStatus? status, string? error)
    {
        using var json = new Utf8JsonWriter(output, ErrorBody.WriterOptions);
        json.WriteStartObject();
        if (model is not null)
        {
            json.WriteString("name", model);
        }

        if (version is not null)
        {
            json.WriteString("version", version);
        }

        json.WriteBoolean("ready", ready);
        if (status is not null)
        {
            json.WriteString("state", status.StateText);
            json.WriteBoolean("loaded", status.Loaded);
            if (status.Reason is not null)
            {
                json.WriteString("reason", status.Reason);
            }
        }

        if (error is not null)
        {
            json.WriteString("error", error);
        }

        json.WriteEndObject();
    }

    public static void WriteLive(IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output, ErrorBody.WriterOptions);
        json.WriteStartObject();
        json.WriteBoolean("live", true);
        json.WriteEndObject();
    }

    public static void WriteRepositoryIndex(IBufferWriter<byte> output, IEnumerable<ModelStatus> statuses)
    {
        using var json = new Utf8JsonWriter(output, ErrorBody.WriterOptions);
        json.WriteStartArray();
        foreach (var status in statuses)
        {
            json.WriteStartObject();
            json.WriteString("name", status.Name);
            json.WriteString("version", status.Version);
            json.WriteString("state", status.StateText);
            json.WriteBoolean("loaded", status.Loaded);
            json.WriteString("reason", status.Reason ?? string.Empty);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    public static void WriteEmptyObject(IBufferWriter<byte> output) => output.Write("{}"u8);

    public static void WriteError(IBufferWriter<byte> output, string message) => ErrorBody.Write(output, message);

    private static void WriteTensors(Utf8JsonWriter json, string property, IReadOnlyList<TensorManifest> declared, IReadOnlyList<TensorSpec>? specs)
    {
        json.WriteStartArray(property);
        if (declared.Count == 0 && specs is not null)
        {
            foreach (var spec in specs)
            {
                WriteTensor(json, spec.Name, spec.ElementType.ToProtocolName() ?? spec.ElementType.ToString(), spec.Shape);
            }
        }
        else
        {
            foreach (var tensor in declared)
            {
                WriteTensor(json, tensor.Name, tensor.Datatype, tensor.Shape);
            }
        }

        json.WriteEndArray();
    }

    private static void WriteTensor(Utf8JsonWriter json, string name, string datatype, long[] shape)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteString("datatype", datatype);
        json.WriteStartArray("shape");
        foreach (var d in shape)
        {
            json.WriteNumberValue(d);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
