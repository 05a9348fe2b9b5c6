using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// The independent answer the server's outputs are compared against: one protocol JSON request run through
/// Microsoft's own binding (Microsoft.ML.OnnxRuntime's <see cref="InferenceSession"/>) over the same native
/// ONNX Runtime, with the same graph optimizations as ours, written back as a protocol JSON response. Floats
/// are written as their shortest round-trip text, so a reader gets the identical bits.
/// </summary>
internal static class ReferenceBinding
{
    public static Task<string> InferAsync(string modelPath, string requestJson) => Task.Run(() => Infer(modelPath, requestJson));

    public static string Infer(string modelPath, string requestJson)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(modelPath, options);
        using var request = JsonDocument.Parse(requestJson);
        var inputs = new List<NamedOnnxValue>();
        foreach (var input in request.RootElement.GetProperty("inputs").EnumerateArray())
        {
            inputs.Add(ToValue(input));
        }

        var wanted = new List<string>();
        if (request.RootElement.TryGetProperty("outputs", out var requested))
        {
            wanted.AddRange(requested.EnumerateArray().Select(o => o.GetProperty("name").GetString()!));
        }

        if (wanted.Count == 0)
        {
            wanted.AddRange(session.OutputNames);
        }

        using var results = session.Run(inputs, wanted);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("model_name", Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(modelPath))));
            writer.WriteStartArray("outputs");
            foreach (var result in results)
            {
                WriteOutput(writer, result);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static NamedOnnxValue ToValue(JsonElement input)
    {
        var name = input.GetProperty("name").GetString()!;
        var shape = input.GetProperty("shape").EnumerateArray().Select(d => checked((int)d.GetInt64())).ToArray();
        var values = new List<JsonElement>();
        Flatten(input.GetProperty("data"), values);
        var datatype = input.GetProperty("datatype").GetString();
        return datatype switch
        {
            "FP32" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(values.Select(v => v.GetSingle()).ToArray(), shape)),
            "FP64" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(values.Select(v => v.GetDouble()).ToArray(), shape)),
            "INT64" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(values.Select(v => v.GetInt64()).ToArray(), shape)),
            "INT32" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(values.Select(v => v.GetInt32()).ToArray(), shape)),
            "UINT8" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<byte>(values.Select(v => v.GetByte()).ToArray(), shape)),
            "INT8" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<sbyte>(values.Select(v => v.GetSByte()).ToArray(), shape)),
            "BOOL" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(values.Select(v => v.GetBoolean()).ToArray(), shape)),
            _ => throw new NotSupportedException($"reference binding: input '{name}' has datatype {datatype}, which this reference does not convert; add it to ReferenceBinding.ToValue"),
        };
    }

    private static void Flatten(JsonElement data, List<JsonElement> into)
    {
        if (data.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in data.EnumerateArray())
            {
                Flatten(item, into);
            }
        }
        else
        {
            into.Add(data);
        }
    }

    private static void WriteOutput(Utf8JsonWriter writer, DisposableNamedOnnxValue result)
    {
        writer.WriteStartObject();
        writer.WriteString("name", result.Name);
        switch (result.Value)
        {
            case Tensor<float> t:
                WriteTensor(writer, "FP32", t, v => writer.WriteNumberValue(v));
                break;
            case Tensor<double> t:
                WriteTensor(writer, "FP64", t, v => writer.WriteNumberValue(v));
                break;
            case Tensor<long> t:
                WriteTensor(writer, "INT64", t, v => writer.WriteNumberValue(v));
                break;
            case Tensor<int> t:
                WriteTensor(writer, "INT32", t, v => writer.WriteNumberValue(v));
                break;
            case Tensor<bool> t:
                WriteTensor(writer, "BOOL", t, writer.WriteBooleanValue);
                break;
            default:
                throw new NotSupportedException($"reference binding: output '{result.Name}' is a {result.Value?.GetType().Name}, which this reference does not write; add it to ReferenceBinding.WriteOutput");
        }

        writer.WriteEndObject();
    }

    private static void WriteTensor<T>(Utf8JsonWriter writer, string datatype, Tensor<T> tensor, Action<T> write)
    {
        writer.WriteString("datatype", datatype);
        writer.WriteStartArray("shape");
        foreach (var d in tensor.Dimensions)
        {
            writer.WriteNumberValue(d);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("data");
        foreach (var v in tensor)
        {
            write(v);
        }

        writer.WriteEndArray();
    }
}
