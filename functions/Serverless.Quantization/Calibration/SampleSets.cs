using System.Globalization;
using Serverless.Core.Errors;

namespace Serverless.Quantization.Calibration;

/// <summary>The preprocessing a model needs, named after the model.</summary>
public enum Preset
{
    TextDirection,
    TextDetection,
    TextRecognition,
    VoiceActivity,
}

/// <summary>
/// Turns a set made by scripts/calibration/generate.sh into model inputs, preprocessed the way
/// PaddleOCR and Silero VAD do it: cls resizes to 48x192 and normalizes (x/255-0.5)/0.5, det
/// normalizes with ImageNet mean/std at a size that is a multiple of 32, rec resizes to height 48 (width
/// proportional, zero-padded to at least 320), VAD feeds 512-sample chunks at 16 kHz (256 at 8 kHz) with the recurrent state
/// carried and, as silero-vad's OnnxWrapper does, the previous 64 (32) samples prepended as context.
/// </summary>
public static class SampleSets
{
    public const int VadChunk = 512;

    /// <summary>The sample rates Silero VAD v5 accepts; generate.sh writes speech/ at 16 kHz and speech8k/ (the same clips, resampled by sox) at 8 kHz.</summary>
    public static IReadOnlyList<long> VadRates { get; } = [16000, 8000];

    /// <summary>Samples per chunk at <paramref name="rate"/>: 512 at 16 kHz, 256 at 8 kHz (32 ms).</summary>
    public static int VadChunkAt(long rate) => rate == 16000 ? VadChunk : rate == 8000 ? 256 : throw new ArgumentOutOfRangeException(nameof(rate), rate, "Silero VAD takes 16000 or 8000 Hz.");

    /// <summary>Context samples silero-vad prepends to each chunk (the previous chunk's last 4 ms): 64 at 16 kHz, 32 at 8 kHz.</summary>
    public static int VadContextAt(long rate) => VadChunkAt(rate) / 8;

    /// <summary>The model input for the chunk at <paramref name="start"/>: the context (zeros before the clip's start), then the chunk.</summary>
    public static float[] VadWindow(ReadOnlySpan<float> audio, int start, long rate)
    {
        int chunk = VadChunkAt(rate), context = VadContextAt(rate);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + chunk, audio.Length);
        var window = new float[context + chunk];
        var from = Math.Max(0, start - context);
        audio[from..(start + chunk)].CopyTo(window.AsSpan(context - (start - from)));
        return window;
    }

    public static Preset ParsePreset(string value) => value switch
    {
        "text-direction" or "cls" => Preset.TextDirection,
        "text-detection" or "det" => Preset.TextDetection,
        "text-recognition" or "rec" => Preset.TextRecognition,
        "voice-activity" or "vad" => Preset.VoiceActivity,
        _ => throw InferenceException.BadInput($"Unknown preset '{value}'. Use text-direction, text-detection, text-recognition or voice-activity."),
    };

    /// <summary>One text line: RGB bytes, size, rotation and the rendered string.</summary>
    public sealed record TextLine(string File, int Width, int Height, int Rotation, string Text, byte[] Rgb);

    public static IReadOnlyList<TextLine> ReadLines(string setDir, string folder = "lines")
    {
        var dir = Path.Combine(setDir, folder);
        var index = Path.Combine(dir, "index.tsv");
        if (!File.Exists(index))
        {
            throw InferenceException.NotFound($"'{index}' is missing. Generate the data with scripts/calibration/generate.sh OUTDIR and pass OUTDIR/calibration (or OUTDIR/evaluation).");
        }

        var lines = new List<TextLine>();
        foreach (var row in File.ReadAllLines(index))
        {
            var f = row.Split('\t');
            if (f.Length < 3)
            {
                continue;
            }

            var w = int.Parse(f[1], CultureInfo.InvariantCulture);
            var h = int.Parse(f[2], CultureInfo.InvariantCulture);
            var rgb = File.ReadAllBytes(Path.Combine(dir, f[0]));
            if (rgb.Length != w * h * 3)
            {
                throw InferenceException.BadInput($"'{f[0]}' in '{dir}' has {rgb.Length} bytes; {w}x{h} RGB needs {w * h * 3}. Regenerate the set.");
            }

            lines.Add(new TextLine(f[0], w, h, f.Length > 3 ? int.Parse(f[3], CultureInfo.InvariantCulture) : 0, f.Length > 4 ? f[4] : string.Empty, rgb));
        }

        return lines;
    }

    /// <summary>Mono clips at <paramref name="rate"/> (speech/ for 16 kHz, speech8k/ for 8 kHz) as floats in [-1, 1], with their kind (speech, silence, noise).</summary>
    public static IReadOnlyList<(string File, string Kind, float[] Audio)> ReadSpeech(string setDir, long rate = 16000)
    {
        var dir = Path.Combine(setDir, rate == 16000 ? "speech" : $"speech{rate / 1000}k");
        if (!File.Exists(Path.Combine(dir, "index.tsv")))
        {
            throw InferenceException.BadInput($"'{dir}' has no index.tsv: no {rate} Hz clips in this set. Regenerate it with scripts/calibration/generate.sh.");
        }

        var clips = new List<(string, string, float[])>();
        foreach (var row in File.ReadAllLines(Path.Combine(dir, "index.tsv")))
        {
            var f = row.Split('\t');
            var bytes = File.ReadAllBytes(Path.Combine(dir, f[0]));
            var audio = new float[bytes.Length / 2];
            for (var i = 0; i < audio.Length; i++)
            {
                audio[i] = BitConverter.ToInt16(bytes, i * 2) / 32768f;
            }

            clips.Add((f[0], f[2], audio));
        }

        return clips;
    }

    /// <summary>Model inputs for every item of the set (for VAD: every chunk, with zero state, which is how calibration sees it).</summary>
    public static IReadOnlyList<CalibrationSample> Load(string setDir, Preset preset, int limit = int.MaxValue)
    {
        var samples = new List<CalibrationSample>();
        switch (preset)
        {
            case Preset.TextDirection:
                foreach (var line in ReadLines(setDir))
                {
                    samples.Add(new CalibrationSample(line.File, [new SampleTensor("x", [1, 3, 48, 192], ClsInput(line))]));
                }

                break;
            case Preset.TextRecognition:
                foreach (var line in ReadLines(setDir).Where(l => l.Rotation == 0))
                {
                    var x = RecInput(line, out var width);
                    samples.Add(new CalibrationSample(line.File, [new SampleTensor("x", [1, 3, 48, width], x)]));
                }

                break;
            case Preset.TextDetection:
                foreach (var page in ReadLines(setDir, "pages"))
                {
                    samples.Add(new CalibrationSample(page.File, [new SampleTensor("x", [1, 3, page.Height, page.Width], DetInput(page))]));
                }

                break;
            case Preset.VoiceActivity:
                foreach (var (file, _, audio) in ReadSpeech(setDir))
                {
                    for (var start = 0; start + VadChunk <= audio.Length; start += VadChunk * 8)
                    {
                        samples.Add(new CalibrationSample($"{file}@{start}", VadInputs(audio.AsSpan(start, VadChunk), new float[2 * 128])));
                    }
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(preset));
        }

        return samples.Count > limit ? samples.GetRange(0, limit) : samples;
    }

    public static SampleTensor[] VadInputs(ReadOnlySpan<float> chunk, float[] state, long rate = 16000) =>
    [
        new SampleTensor("input", [1, chunk.Length], chunk.ToArray()),
        new SampleTensor("state", [2, 1, 128], state),
        new SampleTensor("sr", [], Int64s: [rate]),
    ];

    public static float[] ClsInput(TextLine line) => ResizePadNormalize(line, 48, 192);

    /// <summary>
    /// PaddleOCR's rec preprocessing for one line: height 48, width proportional, padded on the right to at
    /// least 320. Capping long lines at 320 would squeeze their glyphs until even fp32 misreads them, which
    /// makes int8-vs-fp32 agreement measure noise.
    /// </summary>
    public static float[] RecInput(TextLine line, out int width)
    {
        ArgumentNullException.ThrowIfNull(line);
        width = Math.Max(320, ProportionalWidth(line, 48));
        return ResizePadNormalize(line, 48, width);
    }

    private static int ProportionalWidth(TextLine line, int height) => (int)Math.Ceiling(height * (double)line.Width / line.Height);

    public static float[] DetInput(TextLine page)
    {
        ArgumentNullException.ThrowIfNull(page);
        ReadOnlySpan<float> mean = [0.485f, 0.456f, 0.406f];
        ReadOnlySpan<float> std = [0.229f, 0.224f, 0.225f];
        int w = page.Width, h = page.Height;
        var x = new float[3 * h * w];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < h * w; i++)
            {
                x[(c * h * w) + i] = ((page.Rgb[(i * 3) + c] / 255f) - mean[c]) / std[c];
            }
        }

        return x;
    }

    /// <summary>PaddleOCR's resize_norm_img: keep the aspect ratio at height H, cap the width, normalize to [-1, 1], zero-pad on the right.</summary>
    private static float[] ResizePadNormalize(TextLine line, int height, int maxWidth)
    {
        var width = Math.Min(maxWidth, ProportionalWidth(line, height));
        var x = new float[3 * height * maxWidth];
        for (var y = 0; y < height; y++)
        {
            var sy = Math.Clamp(((y + 0.5) * line.Height / height) - 0.5, 0, line.Height - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, line.Height - 1);
            var fy = sy - y0;
            for (var xx = 0; xx < width; xx++)
            {
                var sx = Math.Clamp(((xx + 0.5) * line.Width / width) - 0.5, 0, line.Width - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, line.Width - 1);
                var fx = sx - x0;
                for (var c = 0; c < 3; c++)
                {
                    double P(int py, int px) => line.Rgb[(((py * line.Width) + px) * 3) + c];
                    var v = (P(y0, x0) * (1 - fx) * (1 - fy)) + (P(y0, x1) * fx * (1 - fy)) + (P(y1, x0) * (1 - fx) * fy) + (P(y1, x1) * fx * fy);
                    x[(c * height * maxWidth) + (y * maxWidth) + xx] = (float)(((v / 255.0) - 0.5) / 0.5);
                }
            }
        }

        return x;
    }
}
