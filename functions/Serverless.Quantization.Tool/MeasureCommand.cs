using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Quantization.Calibration;
using Serverless.Quantization.Evaluation;

namespace Serverless.Quantization.Tool;

/// <summary>What one child process measured for one model file.</summary>
/// <summary>What one measurement of one model file gave; <paramref name="DocumentTexts"/> are text-recognition's readings of the realistic document lines.</summary>
internal sealed record Measurement(double SessionMs, double WarmP50Ms, long PeakRssKb, List<float[]> Outputs, List<string> Texts, List<string>? DocumentTexts = null);

/// <summary>
/// Hidden `measure` command: the report starts one child process per model and precision so session
/// time and peak RSS (VmHWM) belong to that model alone. It runs the whole evaluation set and writes
/// the raw outputs (or decoded strings) as JSON for the parent to compare.
/// </summary>
internal static class MeasureCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Required = true };
        var preset = new Option<string>("--preset") { Required = true };
        var set = new Option<string>("--set") { Required = true };
        var output = new Option<string>("--out") { Required = true };
        var dictionary = new Option<string?>("--dictionary");
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 30 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "ORT intra-op threads." };
        var timingOnly = new Option<bool>("--timing-only") { Description = "Skip the evaluation outputs; only session time, warm latency and RSS." };
        var documents = new Option<string?>("--documents") { Description = "text-recognition: the realistic document lines (scripts/calibration/documents.sh OUTDIR/documents)." };
        var command = new Command("measure", "Measure one model in this process (used by report).") { model, preset, set, output, dictionary, runs, timingOnly, threads, documents };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            var m = Measure(parse.GetValue(model)!, SampleSets.ParsePreset(parse.GetValue(preset)!), parse.GetValue(set)!, parse.GetValue(dictionary), parse.GetValue(runs), parse.GetValue(timingOnly), parse.GetValue(threads), parse.GetValue(documents));
            File.WriteAllText(parse.GetValue(output)!, JsonSerializer.Serialize(m));
            return 0;
        });
        return command;
    }

    internal static Measurement Measure(string modelPath, Preset preset, string setDir, string? dictionaryPath, int runs, bool timingOnly, int threads, string? documentsDir = null)
    {
        var settings = new SessionSettings { IntraOpThreads = threads };
        var clock = Stopwatch.StartNew();
        using var session = OnnxSessionFactory.Instance.Create("measure", modelPath, settings);
        var sessionMs = clock.Elapsed.TotalMilliseconds;
        var outputs = new List<float[]>();
        var texts = new List<string>();
        var decoder = dictionaryPath is null ? null : CtcDecoder.FromFile(dictionaryPath);
        IReadOnlyList<CalibrationSample> timing;
        if (timingOnly)
        {
            timing = SampleSets.Load(setDir, preset, 1);
        }
        else if (preset == Preset.VoiceActivity)
        {
            // Each clip is streamed chunk by chunk at each rate the model accepts, with the recurrent state carried
            // and the previous chunk's tail as context, as silero-vad feeds the model. Outputs: [16 kHz, 8 kHz].
            foreach (var rate in SampleSets.VadRates)
            {
                var chunk = SampleSets.VadChunkAt(rate);
                var probabilities = new List<float>();
                foreach (var (_, _, audio) in SampleSets.ReadSpeech(setDir, rate))
                {
                    var state = new float[2 * 128];
                    for (var start = 0; start + chunk <= audio.Length; start += chunk)
                    {
                        var result = Run(session, new CalibrationSample("chunk", SampleSets.VadInputs(SampleSets.VadWindow(audio, start, rate), state, rate)));
                        probabilities.Add(result[0][0]);
                        state = result[1];
                    }
                }

                outputs.Add([.. probabilities]);
            }

            timing = SampleSets.Load(setDir, preset, 1);
        }
        else
        {
            var samples = SampleSets.Load(setDir, preset);
            foreach (var sample in samples)
            {
                var result = Run(session, sample, out var shape);
                if (decoder is not null)
                {
                    texts.Add(decoder.Decode(result[0], (int)shape[1], (int)shape[2]));
                }
                else
                {
                    outputs.Add(result[0]);
                }
            }

            timing = [samples[0]];
        }

        List<string>? documentTexts = null;
        if (!timingOnly && decoder is not null && documentsDir is not null)
        {
            documentTexts = [];
            foreach (var sample in SampleSets.Load(documentsDir, preset))
            {
                var result = Run(session, sample, out var shape);
                documentTexts.Add(decoder.Decode(result[0], (int)shape[1], (int)shape[2]));
            }
        }

        for (var i = 0; i < 3; i++)
        {
            Run(session, timing[0]);
        }

        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            clock.Restart();
            Run(session, timing[0]);
            times[i] = clock.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        return new Measurement(sessionMs, times[runs / 2], PeakRssKb(), outputs, texts, documentTexts);
    }

    private static float[][] Run(IInferenceSession session, CalibrationSample sample) => Run(session, sample, out _);

    private static float[][] Run(IInferenceSession session, CalibrationSample sample, out long[] firstShape)
    {
        var inputs = sample.Inputs.Select(t => t.ToHostTensor()).ToArray();
        var indices = Enumerable.Range(0, session.Outputs.Count).ToArray();
        var results = new IOutputTensor?[indices.Length];
        try
        {
            session.Run(inputs, indices, results);
            firstShape = results[0]!.Shape.ToArray();
            return results.Select(r => MemoryMarshal.Cast<byte, float>(r!.Bytes).ToArray()).ToArray();
        }
        finally
        {
            foreach (var t in inputs)
            {
                t.Dispose();
            }

            foreach (var r in results)
            {
                r?.Dispose();
            }
        }
    }

    private static long PeakRssKb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }
}
