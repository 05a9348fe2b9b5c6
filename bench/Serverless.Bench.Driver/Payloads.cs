using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Serverless.Bench.Driver;

/// <summary>
/// One workload's request bodies, built once before any timing: the protocol JSON form (every element
/// written as its shortest round-trip float, as a client serializing a float32 array would) and the
/// binary tensor data form (a JSON header asking for binary outputs, then the raw little-endian floats).
/// The values are a fixed pseudo-random image normalized to [-1, 1], so every run sends identical bytes.
/// Every request names the model version (<see cref="InferPath"/>): both servers, and the in-process runs,
/// then use the same model file whatever a manifest's defaultVersion says (text-detection's default may be
/// an int8 artifact while the Node peer and the raw Run would load the fp32 one).
/// </summary>
internal sealed class Payloads
{
    private Payloads(string model, string input, long[] shape, float[] values, byte[] json, byte[] binary, int binaryHeaderLength)
    {
        Model = model;
        Input = input;
        Shape = shape;
        Values = values;
        Json = json;
        Binary = binary;
        BinaryHeaderLength = binaryHeaderLength;
    }

    public string Model { get; }

    /// <summary>The store version every lane uses: its model is <c>STORE/Model/Version/model.onnx</c>.</summary>
    public string Version => "1";

    /// <summary>The infer route with the version pinned, the same for both servers.</summary>
    public string InferPath => $"/v2/models/{Model}/versions/{Version}/infer";

    public string Input { get; }

    public long[] Shape { get; }

    public float[] Values { get; }

    public byte[] Json { get; }

    /// <summary>JSON header followed by the tensor bytes; send with Inference-Header-Content-Length = <see cref="BinaryHeaderLength"/>.</summary>
    public byte[] Binary { get; }

    public int BinaryHeaderLength { get; }

    public string ShapeText => string.Join('x', Shape);

    public static Payloads Create(string model, string input, long[] shape, int seed)
    {
        var count = 1L;
        foreach (var d in shape)
        {
            count *= d;
        }

        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            // An 8-bit pixel normalized the PaddleOCR way: (p / 255 - 0.5) / 0.5.
            values[i] = ((random.Next(256) / 255f) - 0.5f) / 0.5f;
        }

        var shapeJson = string.Join(',', shape);
        var json = new StringBuilder((int)Math.Min(count * 11 + 256, int.MaxValue));
        json.Append(CultureInfo.InvariantCulture, $"{{\"inputs\":[{{\"name\":\"{input}\",\"shape\":[{shapeJson}],\"datatype\":\"FP32\",\"data\":[");
        for (var i = 0; i < values.Length; i++)
        {
            if (i > 0)
            {
                json.Append(',');
            }

            json.Append(values[i].ToString("R", CultureInfo.InvariantCulture));
        }

        json.Append("]}]}");

        var header = Encoding.UTF8.GetBytes(
            $"{{\"inputs\":[{{\"name\":\"{input}\",\"shape\":[{shapeJson}],\"datatype\":\"FP32\",\"parameters\":{{\"binary_data_size\":{count * 4}}}}}],\"parameters\":{{\"binary_data_output\":true}}}}");
        var binary = new byte[header.Length + (count * 4)];
        header.CopyTo(binary, 0);
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(binary.AsSpan(header.Length + (i * 4)), values[i]);
        }

        return new Payloads(model, input, shape, values, Encoding.UTF8.GetBytes(json.ToString()), binary, header.Length);
    }
}
