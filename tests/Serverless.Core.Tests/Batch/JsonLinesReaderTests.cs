using System.Text;
using Serverless.Core.Batch;

namespace Serverless.Core.Tests.Batch;

public sealed class JsonLinesReaderTests
{
    private static async Task<List<(string Text, bool TooLong, long End)>> ReadAll(string content, long start = 0, int max = 1024, int buffer = 8)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        using var stream = new MemoryStream(bytes, (int)start, bytes.Length - (int)start);
        using var reader = new JsonLinesReader(stream, start, max, buffer);
        var lines = new List<(string, bool, long)>();
        while (await reader.ReadLineAsync(default))
        {
            lines.Add((Encoding.UTF8.GetString(reader.Current.Span), reader.CurrentTooLong, reader.EndOffset));
        }

        return lines;
    }

    [Fact]
    public async Task Read_SplitsOnNewlines_DropsCarriageReturns_AndCountsALastLineWithoutNewline()
    {
        var lines = await ReadAll("{\"a\":1}\r\n\n{\"b\":22}\n{\"c\":3}");
        Assert.Equal(["{\"a\":1}", "", "{\"b\":22}", "{\"c\":3}"], lines.Select(l => l.Text));
        Assert.Equal([9L, 10L, 19L, 26L], lines.Select(l => l.End));
    }

    [Fact]
    public async Task Read_TrailingNewline_DoesNotAddAnEmptyLine()
    {
        var lines = await ReadAll("one\ntwo\n");
        Assert.Equal(["one", "two"], lines.Select(l => l.Text));
    }

    [Fact]
    public async Task Read_LineOverTheLimit_IsReportedTooLongAndTheNextLineStillReads()
    {
        var lines = await ReadAll("short\n" + new string('x', 100) + "\nafter\n", max: 16, buffer: 8);
        Assert.Equal(3, lines.Count);
        Assert.False(lines[0].TooLong);
        Assert.True(lines[1].TooLong);
        Assert.Equal("after", lines[2].Text);
        Assert.Equal(6 + 101 + 6, lines[2].End);
    }

    [Fact]
    public async Task Read_FromAnOffset_ReportsAbsoluteOffsets()
    {
        var lines = await ReadAll("first\nsecond\nthird\n", start: 6);
        Assert.Equal(["second", "third"], lines.Select(l => l.Text));
        Assert.Equal([13L, 19L], lines.Select(l => l.End));
    }
}
