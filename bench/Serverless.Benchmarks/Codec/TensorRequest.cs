using System.Globalization;
using System.Text;

namespace Serverless.Benchmarks.Codec;

/// <summary>
/// An FP32 request for input "x" in both wire forms, built the same way as the end-to-end driver's payload:
/// a fixed pseudo-random image normalized to [-1, 1], floats in shortest round-trip form.
/// <see cref="TextDirection"/> is text-direction's 1x3x48x192 (298 KB of JSON), <see cref="TextDetection"/>
/// text-detection's 1x3x640x640 (12.9 MB).
/// </summary>
internal sealed class TensorRequest
{
    public TensorRequest(long[] shape, int seed)
    {
        var count = 1L;
        foreach (var d in shape)
        {
            count *= d;
        }

        var random = new Random(seed);
        Values = new float[count];
        var shapeText = string.Join(',', shape);
        var json = new StringBuilder((int)(count * 11) + 256);
        json.Append(CultureInfo.InvariantCulture, $"{{\"inputs\":[{{\"name\":\"x\",\"shape\":[{shapeText}],\"datatype\":\"FP32\",\"data\":[");
        for (var i = 0; i < Values.Length; i++)
        {
            Values[i] = ((random.Next(256) / 255f) - 0.5f) / 0.5f;
            json.Append(i == 0 ? "" : ",").Append(Values[i].ToString("R", CultureInfo.InvariantCulture));
        }

        Json = Encoding.UTF8.GetBytes(json.Append("]}]}").ToString());
        BinaryHeader = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{{\"inputs\":[{{\"name\":\"x\",\"shape\":[{shapeText}],\"datatype\":\"FP32\",\"parameters\":{{\"binary_data_size\":{count * 4}}}}}],\"parameters\":{{\"binary_data_output\":true}}}}"));
        BinaryData = new byte[Values.Length * 4];
        Buffer.BlockCopy(Values, 0, BinaryData, 0, BinaryData.Length);
    }

    public static TensorRequest TextDirection() => new([1, 3, 48, 192], seed: 7);

    public static TensorRequest TextDetection() => new([1, 3, 640, 640], seed: 11);

    public float[] Values { get; }

    public byte[] Json { get; }

    public byte[] BinaryHeader { get; }

    public byte[] BinaryData { get; }
}
