using Serverless.Quantization.Evaluation;

namespace Serverless.Quantization.Tests.Evaluation;

public class TextAccuracyTests
{
    [Theory]
    [InlineData("", "", 0)]
    [InlineData("Lot 118, Harbour Road", "Lot 118, Harbour Road", 0)]
    [InlineData("Lot 118,Harbour Road", "Lot 118, Harbour Road", 1)] // the dropped space after punctuation
    [InlineData("Dose. 2", "Dose: 2", 1)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    public void EditDistance_CountsInsertionsDeletionsAndSubstitutions(string read, string truth, int expected)
    {
        Assert.Equal(expected, TextAccuracy.EditDistance(read, truth));
        Assert.Equal(expected, TextAccuracy.EditDistance(truth, read));
    }

    [Fact]
    public void Measure_GivesExactLinesWithEndsTrimmedAndCharacterErrorRate()
    {
        string[] truth = ["Total: $1,234.50", "Dose: 2 tablets", "Ref: AB-1234-X", "Hello, World!"];
        string[] read = ["Total: $1,234.50 ", "Dose:2 tablets", "Ref: AB-1234-X", "Hello. World!"];

        var accuracy = TextAccuracy.Measure(read, truth);

        Assert.Equal(2, accuracy.Exact);
        Assert.Equal(0.5, accuracy.ExactRate);
        Assert.Equal(2, accuracy.Edits);
        Assert.Equal(truth.Sum(t => t.Length), accuracy.Characters);
        Assert.Equal(2.0 / truth.Sum(t => t.Length), accuracy.CharacterErrorRate, 12);
    }

    [Fact]
    public void Measure_OfSetsOfDifferentLength_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => TextAccuracy.Measure(["a"], ["a", "b"]));

        Assert.Contains("1 recognized lines for 2 printed ones", e.Message);
    }
}
