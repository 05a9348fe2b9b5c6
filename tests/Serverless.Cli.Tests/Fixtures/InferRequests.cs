using System.Globalization;
using System.Text;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// Open Inference Protocol JSON requests for the four real models, with seeded inputs. Floats are written
/// in shortest round-trip form so the server and the Node reference parse identical FP32 bits.
/// </summary>
internal static class InferRequests
{
    /// <summary>text-direction: x [1,3,48,192], image-like values in [-1, 1).</summary>
    public static string TextDirection(uint seed = 1) =>
        Single("x", [1, 3, 48, 192], new SeededValues(seed).Floats(1 * 3 * 48 * 192, -1f, 1f));

    /// <summary>text-detection: x [1,3,64,64].</summary>
    public static string TextDetection(uint seed = 2) =>
        Single("x", [1, 3, 64, 64], new SeededValues(seed).Floats(1 * 3 * 64 * 64, -1f, 1f));

    /// <summary>text-recognition: x [1,3,48,96].</summary>
    public static string TextRecognition(uint seed = 3) =>
        Single("x", [1, 3, 48, 96], new SeededValues(seed).Floats(1 * 3 * 48 * 96, -1f, 1f));

    /// <summary>voice-activity: one 512-sample chunk at 16 kHz (quiet noise), zero state, sr scalar.</summary>
    public static string VoiceActivity(uint seed = 4)
    {
        var builder = new StringBuilder();
        builder.Append("{\"id\":\"voice-activity-").Append(seed).Append("\",\"inputs\":[");
        AppendTensor(builder, "input", "FP32", [1, 512], new SeededValues(seed).Floats(512, -0.25f, 0.25f));
        builder.Append(',');
        AppendTensor(builder, "state", "FP32", [2, 1, 128], new float[256]);
        builder.Append(",{\"name\":\"sr\",\"datatype\":\"INT64\",\"shape\":[],\"data\":[16000]}]}");
        return builder.ToString();
    }

    public static string For(string model) => model switch
    {
        "text-direction" => TextDirection(),
        "text-detection" => TextDetection(),
        "text-recognition" => TextRecognition(),
        "voice-activity" => VoiceActivity(),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "no seeded request for this model"),
    };

    public static string Single(string name, long[] shape, float[] data)
    {
        var builder = new StringBuilder(data.Length * 12);
        builder.Append("{\"id\":\"seeded\",\"inputs\":[");
        AppendTensor(builder, name, "FP32", shape, data);
        builder.Append("]}");
        return builder.ToString();
    }

    private static void AppendTensor(StringBuilder builder, string name, string datatype, long[] shape, float[] data)
    {
        builder.Append("{\"name\":\"").Append(name).Append("\",\"datatype\":\"").Append(datatype).Append("\",\"shape\":[");
        builder.AppendJoin(',', shape).Append("],\"data\":[");
        for (var i = 0; i < data.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }

            builder.Append(data[i].ToString("R", CultureInfo.InvariantCulture));
        }

        builder.Append("]}");
    }
}
