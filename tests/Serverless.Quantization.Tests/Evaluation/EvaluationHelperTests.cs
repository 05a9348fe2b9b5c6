using Serverless.Quantization.Evaluation;
using Serverless.Tests.Shared;

namespace Serverless.Quantization.Tests.Evaluation;

public class EvaluationHelperTests
{
    private static float[] Steps(int classes, params int[] best)
    {
        var scores = new float[best.Length * classes];
        for (var t = 0; t < best.Length; t++)
        {
            scores[(t * classes) + best[t]] = 1f;
        }

        return scores;
    }

    [Fact]
    public void CtcDecode_CollapsesRepeatsAndDropsBlanks()
    {
        var decoder = new CtcDecoder(["a", "b", "c"]);

        // a a blank a b b blank blank c space -> "aab c"? no: repeats collapse only when adjacent without a blank.
        var text = decoder.Decode(Steps(5, 1, 1, 0, 1, 2, 2, 0, 0, 3, 4), 10, 5);

        Assert.Equal("aabc ", text);
    }

    [Fact]
    public void CtcDecode_WithTooFewScores_ThrowsNamingTheSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => new CtcDecoder(["a"]).Decode(new float[5], 2, 3));

        Assert.Contains("Expected 6 scores", e.Message);
    }

    [Fact]
    public void CtcDecoder_FromPaddleDictionary_MatchesTheRecognitionModelClassCount()
    {
        var decoder = CtcDecoder.FromFile(Path.Combine(RepoPaths.NodeModules, "@gutenye", "ocr-models", "assets", "ppocr_keys_v1.txt"));

        Assert.Equal(6625, decoder.ClassCount);
    }

    [Fact]
    public void FindBoxes_ReturnsOneBoxPerConnectedRegionAboveThreshold()
    {
        var map = new float[10 * 8];
        for (var y = 1; y < 3; y++)
        {
            for (var x = 1; x < 5; x++)
            {
                map[(y * 10) + x] = 0.9f;
            }
        }

        for (var y = 5; y < 8; y++)
        {
            map[(y * 10) + 8] = 0.5f;
        }

        map[(5 * 10) + 0] = 0.2f; // below threshold
        var boxes = TextBoxes.Find(map, 10, 8, 0.3f, minPixels: 2);

        Assert.Equal([new Box(1, 1, 5, 3), new Box(8, 5, 9, 8)], boxes);
    }

    [Fact]
    public void BoxIoU_IsIntersectionOverUnion()
    {
        Assert.Equal(1.0, new Box(0, 0, 4, 4).IoU(new Box(0, 0, 4, 4)));
        Assert.Equal(0.0, new Box(0, 0, 2, 2).IoU(new Box(2, 2, 4, 4)));
        Assert.Equal(4.0 / 28.0, new Box(0, 0, 4, 4).IoU(new Box(2, 2, 6, 6)), 9);
    }

    [Fact]
    public void MeanBestIoU_PenalizesMissedBoxes()
    {
        var reference = new[] { new Box(0, 0, 4, 4), new Box(10, 10, 14, 14) };

        Assert.Equal(1.0, TextBoxes.MeanBestIoU(reference, reference));
        Assert.Equal(0.5, TextBoxes.MeanBestIoU(reference, [reference[0]]));
        Assert.Equal(1.0, TextBoxes.MeanBestIoU([], []));
    }

    [Fact]
    public void Unclip_GrowsABoxByAreaTimesRatioOverPerimeterOnEverySide()
    {
        // 200x10: 2000 * 1.5 / 420 = 7.14 -> 7 px on each side, as DBNet's post-processing reports it.
        Assert.Equal(new Box(13, 23, 227, 47), TextBoxes.Unclip(new Box(20, 30, 220, 40), 320, 320));
    }

    [Fact]
    public void Unclip_ClampsToTheImageAndLeavesEmptyBoxesAlone()
    {
        Assert.Equal(new Box(0, 0, 320, 15), TextBoxes.Unclip(new Box(2, 3, 318, 10), 320, 320)); // d = 316 * 7 * 1.5 / 646 = 5.1
        Assert.Equal(new Box(5, 5, 5, 9), TextBoxes.Unclip(new Box(5, 5, 5, 9), 320, 320));
    }

    [Fact]
    public void FindUnclipped_OneRowShiftOnAThinLine_CostsLittleIoU()
    {
        // A 100x6 text kernel and the same kernel one row lower: raw IoU 5/7; unclipped by 4 px (600 * 1.5 / 212)
        // both are 14 rows high and overlap in 13 of 15.
        var a = new float[160 * 40];
        var b = new float[160 * 40];
        for (var y = 10; y < 16; y++)
        {
            for (var x = 20; x < 120; x++)
            {
                a[(y * 160) + x] = 0.9f;
                b[((y + 1) * 160) + x] = 0.9f;
            }
        }

        var raw = TextBoxes.MeanBestIoU(TextBoxes.Find(a, 160, 40), TextBoxes.Find(b, 160, 40));
        var unclipped = TextBoxes.MeanBestIoU(TextBoxes.FindUnclipped(a, 160, 40), TextBoxes.FindUnclipped(b, 160, 40));

        Assert.Equal(5.0 / 7.0, raw, 9);
        Assert.Equal(13.0 / 15.0, unclipped, 9);
        Assert.Equal(1.0, TextBoxes.MeanBestIoU(TextBoxes.FindUnclipped(a, 160, 40), TextBoxes.FindUnclipped(a, 160, 40)));
    }
}
