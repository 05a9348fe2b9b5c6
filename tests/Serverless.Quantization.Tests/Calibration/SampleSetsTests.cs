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
}
