using System.Globalization;
using System.Text;

namespace Serverless.Benchmarks.Codec;

/// <summary>
/// text-direction's 1x3x48x192 FP32 request in both wire forms, built the same way as the end-to-end
/// driver's payload: a fixed pseudo-random image normalized to [-1, 1], floats in shortest round-trip form.
/// </summary>
internal sealed class TextDirectionRequest
{
    public const int Elements = 3 * 48 * 192;

    public TextDirectionRequest()
    {
        var random = new Random(7);
        Values = new float[Elements];
        var json = new StringBuilder("""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[""");
        for (var i = 0; i < Values.Length; i++)
        {
            Values[i] = ((random.Next(256) / 255f) - 0.5f) / 0.5f;
            json.Append(i == 0 ? "" : ",").Append(Values[i].ToString("R", CultureInfo.InvariantCulture));
        }

        Json = Encoding.UTF8.GetBytes(json.Append("]}]}").ToString());
        BinaryHeader = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":110592}}],"parameters":{"binary_data_output":true}}""");
        BinaryData = new byte[Values.Length * 4];
        Buffer.BlockCopy(Values, 0, BinaryData, 0, BinaryData.Length);
    }

    public float[] Values { get; }

    public byte[] Json { get; }

    public byte[] BinaryHeader { get; }

    public byte[] BinaryData { get; }
}
