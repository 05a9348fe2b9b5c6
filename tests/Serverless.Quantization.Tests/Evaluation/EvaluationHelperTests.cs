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
}
