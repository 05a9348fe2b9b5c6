using Serverless.Core.Errors;
using Serverless.Core.Inference.Batching;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Inference.Batching;

public sealed class DynamicBatcherTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Run_ConcurrentCompatibleRequests_AreJoinedAndEachCallerGetsItsOwnRows()
    {
        using var session = new DoublerSession();
        // Rows 1+2+3+2 = 8 = the maximum: the batch closes when full, long before the 5 s delay.
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 8, new DynamicBatchingOptions { MaxDelay = Long });
        int[] rows = [1, 2, 3, 2];

        var results = await Task.WhenAll(rows.Select((r, i) => RunAsync(batcher, r, 4, start: i * 100)));

        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Null(results[i].Error);
            Assert.Equal([rows[i], 4], results[i].Shape);
            Assert.Equal(Expected(rows[i], 4, i * 100), results[i].Values);
        }

        Assert.Equal([[8, 4]], session.RunShapes);
        var stats = batcher.Statistics;
        Assert.Equal((4L, 1L, 1L, 4), (stats.Requests, stats.Runs, stats.JoinedRuns, stats.LargestBatch));
        Assert.Equal(0, stats.Queued);
    }

    [Fact]
    public async Task Run_RequestsWithDifferentNonBatchDims_RunInSeparateBatches()
    {
        using var session = new DoublerSession();
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 4, new DynamicBatchingOptions { MaxDelay = Long });

        // Two groups of two rows each (widths 3 and 5), so each group fills its own batch.
        var results = await Task.WhenAll(
            RunAsync(batcher, 1, 3, 0), RunAsync(batcher, 1, 5, 100), RunAsync(batcher, 3, 3, 200), RunAsync(batcher, 3, 5, 300));

        Assert.True(results.All(r => r.Error is null), string.Join("; ", results.Select(r => r.Error?.ToString())));
        Assert.Equal(Expected(1, 3, 0), results[0].Values);
        Assert.Equal(Expected(1, 5, 100), results[1].Values);
        Assert.Equal(Expected(3, 3, 200), results[2].Values);
        Assert.Equal(Expected(3, 5, 300), results[3].Values);
        var shapes = session.RunShapes.Select(s => $"{s[0]}x{s[1]}").Order().ToArray();
        Assert.Equal(["4x3", "4x5"], shapes);
    }

    [Fact]
    public async Task Run_WhenTheJoinedRunFails_EveryCallerInTheBatchGetsTheError()
    {
        using var session = new DoublerSession();
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 3, new DynamicBatchingOptions { MaxDelay = Long });

        // The middle request holds 13, which fails the whole joined run.
        var results = await Task.WhenAll(RunAsync(batcher, 1, 1, 1), RunAsync(batcher, 1, 1, 13), RunAsync(batcher, 1, 1, 2));

        Assert.Single(session.RunShapes);
        foreach (var result in results)
        {
            var error = Assert.IsType<InferenceException>(result.Error);
            Assert.Equal(ErrorCode.InvalidInput, error.Code);
            Assert.Contains("13 is unlucky", error.Message);
            Assert.Contains("batch of 3 requests", error.Message);
            Assert.Equal("x", error.Tensor);
        }

        Assert.Equal(3, results.Select(r => r.Error).Distinct().Count());
        Assert.Equal(1, batcher.Statistics.FailedRuns);
    }

    [Fact]
    public async Task Run_WithRetrySeparately_OnlyTheRequestThatBreaksTheRunFails()
    {
        using var session = new DoublerSession();
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 3,
            new DynamicBatchingOptions { MaxDelay = Long, RetryFailedBatchesSeparately = true });

        var results = await Task.WhenAll(RunAsync(batcher, 1, 1, 1), RunAsync(batcher, 1, 1, 13), RunAsync(batcher, 1, 1, 2));

        Assert.Equal([2f], results[0].Values);
        Assert.Equal([4f], results[2].Values);
        var error = Assert.IsType<InferenceException>(results[1].Error);
        Assert.DoesNotContain("batch of", error.Message);
        Assert.Equal(4, session.RunShapes.Count); // the joined run, then one per request
    }

    [Fact]
    public async Task Run_WhenTheQueueIsFull_RefusesWithOverloadedAndRetryAfter()
    {
        using var session = new DoublerSession { Gate = new ManualResetEventSlim(false) };
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 8,
            new DynamicBatchingOptions { MaxDelay = TimeSpan.Zero, MaxQueuedRequests = 2, RetryAfterSeconds = 3 });

        var first = RunAsync(batcher, 1, 2, 0);
        Assert.True(await session.RunStarted.WaitAsync(Long));
        var second = RunAsync(batcher, 1, 2, 100); // waits for the run slot the first one holds
        await WaitUntilAsync(() => batcher.Statistics.Queued == 2);

        var refused = await RunAsync(batcher, 1, 2, 200);

        var error = Assert.IsType<InferenceException>(refused.Error);
        Assert.Equal(ErrorCode.Overloaded, error.Code);
        Assert.Equal(503, error.HttpStatus);
        Assert.Equal(3, error.RetryAfterSeconds);
        Assert.Contains("'doubler' is overloaded: 2 requests", error.Message);
        session.Gate.Set();
        Assert.Equal(Expected(1, 2, 0), (await first).Values);
        Assert.Equal(Expected(1, 2, 100), (await second).Values);
        Assert.Equal(1, batcher.Statistics.Rejected);
        Assert.Equal(0, batcher.Statistics.Queued);
    }

    [Fact]
    public async Task Run_RequestsArrivingWhileARunIsBusy_FormTheNextBatch()
    {
        using var session = new DoublerSession { Gate = new ManualResetEventSlim(false) };
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 16, new DynamicBatchingOptions { MaxDelay = TimeSpan.Zero });

        var first = RunAsync(batcher, 1, 1, 0);
        Assert.True(await session.RunStarted.WaitAsync(Long));
        var later = Enumerable.Range(1, 5).Select(i => RunAsync(batcher, 1, 1, i)).ToArray();
        await WaitUntilAsync(() => batcher.Statistics.Queued == 6);
        session.Gate.Set();

        await first;
        var results = await Task.WhenAll(later);

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal([2f * (i + 1)], results[i].Values);
        }

        Assert.Equal([1L, 5L], session.RunShapes.Select(s => s[0]));
    }

    [Fact]
    public async Task Run_NeverJoinsMoreRowsThanTheMaximum()
    {
        using var session = new DoublerSession();
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 4, new DynamicBatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(50) });

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => RunAsync(batcher, 1, 2, i * 100)));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(Expected(1, 2, i * 100), results[i].Values);
        }

        Assert.All(session.RunShapes, s => Assert.InRange(s[0], 1, 4));
        Assert.Equal(10, session.RunShapes.Sum(s => s[0]));
    }

    [Fact]
    public async Task Run_RequestAsLargeAsTheMaximum_RunsAloneWithoutWaiting()
    {
        using var session = new DoublerSession();
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 4, new DynamicBatchingOptions { MaxDelay = TimeSpan.FromSeconds(30) });

        var result = await RunAsync(batcher, 4, 2, 0).WaitAsync(Long);

        Assert.Equal(Expected(4, 2, 0), result.Values);
        Assert.Equal(0, batcher.Statistics.JoinedRuns);
    }

    [Fact]
    public void Batcher_ForModelWithoutDynamicFirstDimension_DoesNotBatchButStillRuns()
    {
        using var session = new DoublerSession([2, -1]);
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 8);
        using var x = DoublerSession.Input(2, 3, 0);
        var results = new IOutputTensor?[1];

        batcher.Run([x], [0], results);

        Assert.False(batcher.IsBatching);
        using var y = results[0]!;
        Assert.Equal(Expected(2, 3, 0), y.Bytes.ToArray().Chunk(4).Select(b => BitConverter.ToSingle(b)).ToArray());
        Assert.Equal("FakeExecutionProvider", batcher.ExecutionProvider);
    }

    [Fact]
    public void Batcher_WithMaximumBatchOfOne_DoesNotBatch()
    {
        using var session = new DoublerSession();
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 1);

        Assert.False(batcher.IsBatching);
    }

    [Fact]
    public void Run_WithCancelledToken_ThrowsBeforeQueueing()
    {
        using var session = new DoublerSession();
        using var batcher = new DynamicBatcher(session, "doubler", maxBatchSize: 8);
        using var x = DoublerSession.Input(1, 1, 0);

        Assert.Throws<OperationCanceledException>(() => batcher.Run([x], [0], new IOutputTensor?[1], new CancellationToken(true)));
        Assert.Empty(session.RunShapes);
        Assert.Equal(0, batcher.Statistics.Requests);
    }

    [Theory]
    [InlineData(-1, 1, 1)]
    [InlineData(0, 0, 1)]
    [InlineData(0, 1, 0)]
    public void Options_WithInvalidValues_AreRejected(int delayMs, int queue, int runs)
    {
        var options = new DynamicBatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(delayMs), MaxQueuedRequests = queue, MaxConcurrentRuns = runs };

        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    internal static float[] Expected(long rows, long columns, float start) =>
        [.. Enumerable.Range(0, (int)(rows * columns)).Select(i => 2 * (start + i))];

    internal sealed record CallResult(long[] Shape, float[] Values, Exception? Error);

    /// <summary>One caller on its own thread (Run blocks until its batch has run).</summary>
    internal static Task<CallResult> RunAsync(Serverless.Core.Inference.IInferenceSession batcher, long rows, long columns, float start) =>
        Task.Factory.StartNew(() =>
        {
            using var x = DoublerSession.Input(rows, columns, start);
            var results = new IOutputTensor?[1];
            try
            {
                batcher.Run([x], [0], results);
                using var y = results[0]!;
                return new CallResult(y.Shape.ToArray(), [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(y.Bytes)], null);
            }
            catch (Exception ex)
            {
                return new CallResult([], [], ex);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
