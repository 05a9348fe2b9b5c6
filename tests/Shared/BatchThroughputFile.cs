using System.Text;

namespace Serverless.Tests.Shared;

/// <summary>
/// The JSON Lines file the batch throughput measurements score on every path (S3 through the Lambda
/// bootstrap, Azure Blob through the custom handler), so their figures compare.
/// </summary>
internal static class BatchThroughputFile
{
    /// <summary>
    /// <paramref name="lines"/> text-direction requests of [1,3,48,48] 0/1 values: about 14 KB a line, so
    /// 10,000 lines stay near 140 MB while exercising the full parse, run and write path.
    /// </summary>
    public static byte[] TextDirection(int lines)
    {
        var file = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            file.Append("{\"id\":\"").Append(i).Append("\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,48,48],\"data\":[");
            for (var j = 0; j < 3 * 48 * 48; j++)
            {
                file.Append(j == 0 ? "" : ",").Append((i + j) % 3 == 0 ? '1' : '0');
            }

            file.Append("]}]}\n");
        }

        return Encoding.UTF8.GetBytes(file.ToString());
    }
}
