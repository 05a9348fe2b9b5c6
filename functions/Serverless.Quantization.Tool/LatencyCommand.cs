using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Quantization.Calibration;

namespace Serverless.Quantization.Tool;

/// <summary>What the interleaved latency comparison measured: medians over rounds of each precision's p50, and of the per-round int8/fp32 ratio.</summary>
internal sealed record LatencyComparison(double Fp32P50Ms, double Int8P50Ms, double Ratio, double RatioP10, double RatioP90, int Rounds, int RunsPerBlock, int Int8FasterRounds);

/// <summary>
/// `latency --fp32 A --int8 B --preset P --set DIR`: both models in one process, timed in alternating blocks
/// (fp32 then int8, int8 then fp32 on the next round) on the first sample of the set, so both see the same
/// load on a shared machine; a block is as many runs as fill --block-ms. The report runs it once per model in
/// a child process; separate child processes per precision swung 0.90-1.21 for the same 0.15 ms VAD pair.
/// </summary>
internal static class LatencyCommand
{
    public static Command Create()
    {
        var fp32 = new Option<string>("--fp32") { Required = true };
        var int8 = new Option<string>("--int8") { Required = true };
        var preset = new Option<string>("--preset") { Required = true };
        var set = new Option<string>("--set") { Required = true, Description = "An evaluation set from generate.sh (its first sample is timed)." };
        var output = new Option<string?>("--out") { Description = "Write the result as JSON here (default: print a line)." };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 40 };
        var blockMs = new Option<double>("--block-ms") { DefaultValueFactory = _ => 100, Description = "Timed work per block (at least 5 runs)." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "ORT intra-op threads." };
        var command = new Command("latency", "Compare fp32 and int8 latency interleaved in one process.") { fp32, int8, preset, set, output, rounds, blockMs, threads };
        command.SetAction(parse =>
        {
            var sample = SampleSets.Load(parse.GetValue(set)!, SampleSets.ParsePreset(parse.GetValue(preset)!), 1)[0];
            var result = Measure(parse.GetValue(fp32)!, parse.GetValue(int8)!, sample, parse.GetValue(rounds), parse.GetValue(blockMs), parse.GetValue(threads));
            if (parse.GetValue(output) is { } path)
            {
                File.WriteAllText(path, JsonSerializer.Serialize(result));
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fp32 p50 {result.Fp32P50Ms:F4} ms, int8 p50 {result.Int8P50Ms:F4} ms (medians over {result.Rounds} rounds of {result.RunsPerBlock} runs); int8/fp32 median per-round ratio {result.Ratio:F3} (p10 {result.RatioP10:F3}, p90 {result.RatioP90:F3}); int8 faster in {result.Int8FasterRounds}/{result.Rounds} rounds"));
            }

            return 0;
        });
        return command;
    }

    public static LatencyComparison Measure(string fp32Path, string int8Path, CalibrationSample sample, int rounds, double blockMs, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds);
        var settings = new SessionSettings { IntraOpThreads = threads };
        using var a = OnnxSessionFactory.Instance.Create("fp32", fp32Path, settings);
        using var b = OnnxSessionFactory.Instance.Create("int8", int8Path, settings);
        var inputs = sample.Inputs.Select(t => t.ToHostTensor()).ToArray();
        var indices = Enumerable.Range(0, a.Outputs.Count).ToArray();
        var results = new IOutputTensor?[indices.Length];
        var clock = new Stopwatch();
        double Once(IInferenceSession session)
        {
            clock.Restart();
            session.Run(inputs, indices, results);
            var ms = clock.Elapsed.TotalMilliseconds;
            foreach (var r in results)
            {
                r?.Dispose();
            }

            return ms;
        }

        try
        {
            // Warm-up, and the block size from the median warm run (one slow or fast outlier must not set it).
            var warm = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                warm.Add(Once(a));
                warm.Add(Once(b));
            }

            var block = (int)Math.Clamp(Math.Ceiling(blockMs / Math.Max(Median(warm), 1e-3)), 5, 20_000);
            var times = new double[block];
            double P50(IInferenceSession session)
            {
                for (var i = 0; i < block; i++)
                {
                    times[i] = Once(session);
                }

                Array.Sort(times);
                return times[block / 2];
            }

            var pa = new List<double>();
            var pb = new List<double>();
            var ratios = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                double ta, tb;
                if (round % 2 == 0)
                {
                    ta = P50(a);
                    tb = P50(b);
                }
                else
                {
                    tb = P50(b);
                    ta = P50(a);
                }

                pa.Add(ta);
                pb.Add(tb);
                ratios.Add(tb / ta);
            }

            ratios.Sort();
            return new LatencyComparison(Median(pa), Median(pb), Median(ratios), ratios[ratios.Count / 10], ratios[ratios.Count * 9 / 10], rounds, block, ratios.Count(r => r < 1));
        }
        finally
        {
            foreach (var t in inputs)
            {
                t.Dispose();
            }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
