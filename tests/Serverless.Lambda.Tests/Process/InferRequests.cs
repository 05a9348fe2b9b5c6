using System.Text;

namespace Serverless.Lambda.Tests.Process;

/// <summary>Deterministic text-direction requests (x: [n,3,48,w] FP32) as protocol JSON or binary.</summary>
internal static class InferRequests
{
    public static float Pixel(int seed, int i) => ((i * 31 + seed * 17) % 255) / 255f;

    public static string Json(int seed, string? id = null, int rows = 1, int width = 192)
    {
        var count = rows * 3 * 48 * width;
        var sb = new StringBuilder(count * 6 + 200);
        sb.Append("{");
        if (id is not null)
        {
            sb.Append("\"id\":\"").Append(id).Append("\",");
        }

        sb.Append("\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[").Append(rows).Append(",3,48,").Append(width).Append("],\"data\":[");
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(Pixel(seed, i).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }

        sb.Append("]}]}");
        return sb.ToString();
    }

    /// <summary>A binary tensor data extension body: JSON header then the raw FP32 bytes; returns the header length.</summary>
    public static (byte[] Body, int HeaderLength) Binary(int seed)
    {
        const int count = 3 * 48 * 192;
        var header = Encoding.UTF8.GetBytes("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,48,192],\"parameters\":{\"binary_data_size\":" + (count * 4) + "}}],\"parameters\":{\"binary_data_output\":true}}");
        var body = new byte[header.Length + count * 4];
        header.CopyTo(body, 0);
        for (var i = 0; i < count; i++)
        {
            BitConverter.TryWriteBytes(body.AsSpan(header.Length + i * 4), Pixel(seed, i));
        }

        return (body, header.Length);
    }
}
