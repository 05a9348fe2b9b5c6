using Serverless.Quantization.Calibration;

namespace Serverless.Quantization.Tests.Calibration;

public class SampleSetsTests
{
    private static SampleSets.TextLine Line(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)255);
        return new SampleSets.TextLine("l.rgb", width, height, 0, "text", rgb);
    }

    [Fact]
    public void RecInput_OfALongLine_KeepsItsAspectRatioInsteadOfSqueezingTo320()
    {
        var x = SampleSets.RecInput(Line(451, 38), out var width);

        Assert.Equal(570, width); // ceil(48 * 451 / 38), as PaddleOCR sizes a single line
        Assert.Equal(3 * 48 * 570, x.Length);
        Assert.Equal(1f, x[^1]); // white to the last column: nothing padded
    }

    [Fact]
    public void RecInput_OfAShortLine_IsPaddedWithZerosTo320()
    {
        var x = SampleSets.RecInput(Line(100, 50), out var width);

        Assert.Equal(320, width);
        Assert.Equal(1f, x[95]); // ceil(48 * 100 / 50) = 96 columns of white
        Assert.Equal(0f, x[96]);
        Assert.Equal(0f, x[319]);
    }

    private static float[] Ramp(int length) => [.. Enumerable.Range(1, length).Select(i => (float)i)];

    [Theory]
    [InlineData(16000L, 512, 64)]
    [InlineData(8000L, 256, 32)]
    public void VadWindow_PrependsThePreviousChunksTailAsSileroDoes(long rate, int chunk, int context)
    {
        var audio = Ramp(chunk * 3);

        var first = SampleSets.VadWindow(audio, 0, rate);
        var second = SampleSets.VadWindow(audio, chunk, rate);

        Assert.Equal(chunk + context, first.Length);
        Assert.All(first[..context], v => Assert.Equal(0f, v)); // nothing before the clip: zeros, as silero's reset context
        Assert.Equal(audio[..chunk], first[context..]);
        Assert.Equal(audio[(chunk - context)..(2 * chunk)], second);
    }

    [Fact]
    public void VadWindow_ContextShorterThanAvailable_IsZeroPaddedOnTheLeft()
    {
        var audio = Ramp(600);

        var window = SampleSets.VadWindow(audio, 16, 16000); // only 16 samples before the chunk

        Assert.All(window[..48], v => Assert.Equal(0f, v));
        Assert.Equal(audio[..528], window[48..]);
    }

    [Theory]
    [InlineData(-1, 16000L)]
    [InlineData(100, 16000L)] // 100 + 512 > 600
    [InlineData(0, 44100L)]
    public void VadWindow_RejectsChunksOutsideTheClipAndUnknownRates(int start, long rate)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleSets.VadWindow(Ramp(600), start, rate));
    }

    [Fact]
    public void ReadSpeech_At8kHz_ReadsSpeech8kAndNamesAMissingFolder()
    {
        var dir = Directory.CreateTempSubdirectory("vad-set-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "speech8k"));
            File.WriteAllText(Path.Combine(dir, "speech8k", "index.tsv"), "000.raw\t2\tspeech\n");
            File.WriteAllBytes(Path.Combine(dir, "speech8k", "000.raw"), [0x00, 0x40, 0x00, 0xC0]); // 16384, -16384

            var clip = Assert.Single(SampleSets.ReadSpeech(dir, 8000));
            var missing = Assert.Throws<Serverless.Core.Errors.InferenceException>(() => SampleSets.ReadSpeech(dir, 16000));

            Assert.Equal(("000.raw", "speech"), (clip.File, clip.Kind));
            Assert.Equal([0.5f, -0.5f], clip.Audio);
            Assert.Contains(Path.Combine(dir, "speech"), missing.Message);
            Assert.Contains("generate.sh", missing.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
