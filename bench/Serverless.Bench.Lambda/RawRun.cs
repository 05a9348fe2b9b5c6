using System.Diagnostics;
using System.Globalization;
using System.Text;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;

namespace Serverless.Bench.Lambda;

/// <summary>
/// The raw ONNX Runtime Run of the lane's input in this process (our binding over reused values, the same library,
/// intra-op threads = processor count like both runtimes): what an invoke costs beyond the model itself is measured against it.
/// </summary>
internal static class RawRun
{
    private static readonly long[] Shape = [1, 3, 48, 192];

    public static float[] Input()
    {
        var data = new float[3 * 48 * 192];
        var state = 7u;
        for (var i = 0; i < data.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            data[i] = -1 + ((state >> 8) / 16777216f * 2);
        }

        return data;
    }

    public static string RequestJson(float[] input)
    {
        var sb = new StringBuilder("{\"id\":\"bench\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,48,192],\"data\":[");
        for (var i = 0; i < input.Length; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append(input[i].ToString("R", CultureInfo.InvariantCulture));
        }

        return sb.Append("]}]}").ToString();
    }

    /// <summary>Median milliseconds of <paramref name="runs"/> runs after a warm-up.</summary>
    public static double Measure(string modelPath, float[] input, int runs)
    {
        using var session = OnnxSessionFactory.Instance.Create("text-direction", modelPath, new SessionSettings { IntraOpThreads = Environment.ProcessorCount });
        using var x = OrtValue.CreateTensor<float>(input.AsMemory(), Shape, "x");
        using var y = OrtValue.CreateTensor<float>(new float[2].AsMemory(), [1, 2], "softmax_0.tmp_0");
        OrtValue[] inputs = [x];
        OrtValue[] outputs = [y];
        for (var i = 0; i < 30; i++)
        {
            session.Run(inputs, outputs);
        }

        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            session.Run(inputs, outputs);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        return times[runs / 2];
    }
}
