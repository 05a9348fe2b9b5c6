using System.Globalization;
using System.Text;

namespace Serverless.Azure.Tests.Fixtures;

/// <summary>Deterministic text-direction requests (x: [n,3,48,192] FP32) as protocol JSON, binary, or JSON Lines.</summary>
internal static class InferRequests
{
    private const int Pixels = 3 * 48 * 192;

    public static float Pixel(int seed, int i) => ((i * 31 + seed * 17) % 255) / 255f;

    public static string Json(int seed, string? name = "x", int[]? shape = null)
    {
        shape ??= [1, 3, 48, 192];
        var count = shape.Aggregate(1, (a, b) => a * b);
        var sb = new StringBuilder(count * 6 + 100);
        sb.Append("{\"inputs\":[{\"name\":\"").Append(name).Append("\",\"datatype\":\"FP32\",\"shape\":[").Append(string.Join(',', shape)).Append("],\"data\":[");
        for (var i = 0; i < count; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append(Pixel(seed, i).ToString("R", CultureInfo.InvariantCulture));
        }

        return sb.Append("]}]}").ToString();
    }

    /// <summary>A binary tensor data extension body asking for binary outputs; returns the JSON header's length.</summary>
    public static (byte[] Body, int HeaderLength) Binary(int seed)
    {
        var header = Encoding.UTF8.GetBytes("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,48,192],\"parameters\":{\"binary_data_size\":" + (Pixels * 4) + "}}],\"parameters\":{\"binary_data_output\":true}}");
        var body = new byte[header.Length + Pixels * 4];
        header.CopyTo(body, 0);
        for (var i = 0; i < Pixels; i++)
        {
            BitConverter.TryWriteBytes(body.AsSpan(header.Length + i * 4), Pixel(seed, i));
        }

        return (body, header.Length);
    }

    /// <summary>A JSON Lines batch file: one request per seed, and a malformed line where <paramref name="badLine"/> says (1-based).</summary>
    public static byte[] JsonLines(int lines, int? badLine = null)
    {
        var sb = new StringBuilder();
        for (var i = 1; i <= lines; i++)
        {
            sb.Append(i == badLine ? "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}]}" : Json(i)).Append('\n');
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
