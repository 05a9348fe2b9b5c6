using System.Text;
using System.Text.Json;
using Serverless.Core.Batch;
using Serverless.Core.Storage;
using Serverless.Core.Tests.Storage;

namespace Serverless.Core.Tests.Batch;

public sealed class BatchScorerTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();
    private readonly LocalObjectStore _store;
    private readonly DoublingSession _session = new();

    public BatchScorerTests()
    {
        _store = new LocalObjectStore(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private static string Line(params float[][] rows) =>
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[" + rows.Length + ",2],\"data\":[" +
        string.Join(",", rows.SelectMany(r => r).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]}]}";

    private async Task Upload(string key, string content) =>
        await _store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(content)), null, default);

    private async Task<string> Read(string key)
    {
        await using var stream = await _store.OpenReadAsync(key, 0, null, default);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    private BatchScorer Scorer(int maxBatch = 4, TimeProvider? time = null, BatchOptions? options = null) =>
        new(new SingleModelRepository("doubler", _session, maxBatch), options ?? new BatchOptions { DeadlineReserve = TimeSpan.FromSeconds(1) }, time ?? new ManualTimeProvider(Start));

    private BatchJob Job(string key, string eTag = "\"etag-1\"") => new() { Store = _store, InputKey = key, ETag = eTag, Model = "doubler" };

    private static float[] Outputs(string responseLine)
    {
        using var json = JsonDocument.Parse(responseLine);
        return [.. json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
    }

    [Fact]
    public async Task Score_WritesExactlyOneOutputLinePerInputLine_InOrder_WithErrorsOnlyForBadLines()
    {
        var input = string.Join("\n",
            Line([1, 2]),
            "{\"inputs\": [ this is not json",
            Line([3, 4], [5, 6]),
            "",
            "{\"inputs\":[{\"name\":\"nope\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}",
            Line([7, 8])) + "\n";
        await Upload("incoming/doubler/a b+c.jsonl", input);

        var outcome = await Scorer().ScoreAsync(Job("incoming/doubler/a b+c.jsonl"), Start.AddMinutes(5), default);

        Assert.Equal(BatchStatus.Completed, outcome.Status);
        Assert.Equal(6, outcome.TotalLines);
        Assert.Equal(3, outcome.TotalFailed);
        Assert.StartsWith("results/doubler/a b+c.", outcome.Keys.Output);
        var lines = (await Read(outcome.Keys.Output)).Split('\n');
        Assert.Equal(7, lines.Length); // six lines and the final newline
        Assert.Equal("", lines[6]);
        Assert.Equal([2f, 4f], Outputs(lines[0]));
        Assert.Contains("Line 2: not a valid JSON infer request", lines[1]);
        Assert.Equal([6f, 8f, 10f, 12f], Outputs(lines[2]));
        Assert.Contains("Line 4: empty", lines[3]);
        Assert.Contains("Line 5:", lines[4]);
        Assert.Contains("nope", lines[4]);
        Assert.Equal([14f, 16f], Outputs(lines[5]));
        using var summary = JsonDocument.Parse(await Read(outcome.Keys.Summary));
        Assert.Equal(6, summary.RootElement.GetProperty("lines").GetInt64());
        Assert.Equal(3, summary.RootElement.GetProperty("failed").GetInt64());
        Assert.Equal("doubler", summary.RootElement.GetProperty("model").GetString());
        Assert.Equal("1", summary.RootElement.GetProperty("modelVersion").GetString());
        Assert.Equal("\"etag-1\"", summary.RootElement.GetProperty("inputETag").GetString());
    }

    [Fact]
    public async Task Score_CompatibleLines_AreJoinedIntoOneRunUpToTheMaxBatch()
    {
        await Upload("incoming/doubler/j.jsonl", string.Join("\n", Enumerable.Range(0, 10).Select(i => Line([i, i]))));

        var outcome = await Scorer(maxBatch: 4).ScoreAsync(Job("incoming/doubler/j.jsonl"), Start.AddMinutes(5), default);

        Assert.Equal(0, outcome.TotalFailed);
        Assert.Equal([4L, 4L, 2L], _session.RowsPerRun);
        var lines = (await Read(outcome.Keys.Output)).TrimEnd('\n').Split('\n');
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal([2f * i, 2f * i], Outputs(lines[i]));
        }
    }

    [Fact]
    public async Task Score_WhenAJoinedRunFails_LinesRunOneByOneAndOnlyThePoisonLineFails()
    {
        await Upload("incoming/doubler/p.jsonl", string.Join("\n", Line([1, 1]), Line([13, 0]), Line([3, 3])));

        var outcome = await Scorer().ScoreAsync(Job("incoming/doubler/p.jsonl"), Start.AddMinutes(5), default);

        Assert.Equal(1, outcome.TotalFailed);
        Assert.Equal([3L, 1L, 1L, 1L], _session.RowsPerRun);
        var lines = (await Read(outcome.Keys.Output)).TrimEnd('\n').Split('\n');
        Assert.Equal([2f, 2f], Outputs(lines[0]));
        Assert.Contains("13 is unlucky", lines[1]);
        Assert.Equal([6f, 6f], Outputs(lines[2]));
    }

    [Fact]
    public async Task Score_RedeliveredEvent_ReturnsAlreadyCompletedWithoutRescoringOrNewObjects()
    {
        await Upload("incoming/doubler/r.jsonl", Line([1, 2]) + "\n");
        var first = await Scorer().ScoreAsync(Job("incoming/doubler/r.jsonl"), Start.AddMinutes(5), default);
        var objects = await _store.ListAsync("results/").Select(o => o.Key).ToListAsync();
        var runs = _session.RowsPerRun.Count;

        var again = await Scorer().ScoreAsync(Job("incoming/doubler/r.jsonl"), Start.AddMinutes(5), default);

        Assert.Equal(BatchStatus.AlreadyCompleted, again.Status);
        Assert.Equal(first.Keys, again.Keys);
        Assert.Equal(runs, _session.RowsPerRun.Count);
        Assert.Equal(objects, await _store.ListAsync("results/").Select(o => o.Key).ToListAsync());
    }

    [Fact]
    public async Task Score_NewRevisionOfTheSameKey_GetsItsOwnResult()
    {
        await Upload("incoming/doubler/v.jsonl", Line([1, 2]) + "\n");
        var first = await Scorer().ScoreAsync(Job("incoming/doubler/v.jsonl", "\"one\""), Start.AddMinutes(5), default);
        var second = await Scorer().ScoreAsync(Job("incoming/doubler/v.jsonl", "\"two\""), Start.AddMinutes(5), default);

        Assert.Equal(BatchStatus.Completed, second.Status);
        Assert.NotEqual(first.Keys.Output, second.Keys.Output);
    }

    [Fact]
    public async Task Score_DeadlineReached_CheckpointsAndResumesWithTheSameOutputAsOneUninterruptedRun()
    {
        var input = string.Join("\n", Enumerable.Range(0, 40).Select(i => i == 17 ? "garbage" : Line([i + 100, -i]))) + "\n";
        await Upload("incoming/doubler/long.jsonl", input);
        await Upload("incoming/doubler/reference.jsonl", input);
        var reference = await Scorer().ScoreAsync(Job("incoming/doubler/reference.jsonl"), Start.AddMinutes(5), default);

        var clock = new ManualTimeProvider(Start);
        _session.OnRun = () => clock.Advance(TimeSpan.FromSeconds(1)); // each run "takes" a second
        var options = new BatchOptions { DeadlineReserve = TimeSpan.FromSeconds(2), PartBytes = 256 };
        var calls = 0;
        BatchOutcome outcome;
        do
        {
            calls++;
            var deadline = clock.Now.AddSeconds(5); // room for about three runs per call
            outcome = await Scorer(maxBatch: 4, clock, options).ScoreAsync(Job("incoming/doubler/long.jsonl"), deadline, default);
            Assert.True(calls < 50, "scoring never completed");
        }
        while (outcome.Status == BatchStatus.Incomplete);

        Assert.True(calls > 3, $"expected several continuations, got {calls} calls");
        Assert.Equal(BatchStatus.Completed, outcome.Status);
        Assert.Equal(40, outcome.TotalLines);
        Assert.Equal(1, outcome.TotalFailed);
        Assert.Equal(await Read(reference.Keys.Output), await Read(outcome.Keys.Output));
        using var summary = JsonDocument.Parse(await Read(outcome.Keys.Summary));
        Assert.Equal(calls, summary.RootElement.GetProperty("invocations").GetInt32());
    }

    [Fact]
    public async Task Score_UnknownModel_ThrowsNotFoundSoTheHostRetriesOrDeadLetters()
    {
        await Upload("incoming/x.jsonl", Line([1, 2]));
        var job = Job("incoming/x.jsonl") with { Model = "missing" };

        var ex = await Assert.ThrowsAsync<Serverless.Core.Errors.InferenceException>(() => Scorer().ScoreAsync(job, Start.AddMinutes(5), default));
        Assert.Equal(Serverless.Core.Errors.ErrorCode.NotFound, ex.Code);
    }

    [Fact]
    public void Keys_DependOnlyOnTheKeyAndRevision()
    {
        var options = new BatchOptions();
        var a = BatchKeys.For(options, "incoming/m/f.jsonl", "\"e1\"", null);
        Assert.Equal(a, BatchKeys.For(options, "incoming/m/f.jsonl", "e1", null));
        Assert.NotEqual(a, BatchKeys.For(options, "incoming/m/f.jsonl", "\"e2\"", null));
        Assert.NotEqual(a, BatchKeys.For(options, "incoming/m/f.jsonl", "\"e1\"", "v1"));
        Assert.Matches(@"^results/m/f\.[0-9a-f]{16}\.jsonl$", a.Output);
        Assert.StartsWith("results/_work/m/f.", a.Checkpoint);
    }
}
