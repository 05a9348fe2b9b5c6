using Serverless.Core.Inference.Batching;
using Serverless.Core.Tests.Batch;

namespace Serverless.Core.Tests.Inference.Batching;

public sealed class BatchingModelRepositoryTests
{
    [Fact]
    public async Task Acquire_HandsOutOneBatcherPerSessionSizedByTheManifest()
    {
        using var session = new DoublerSession();
        var repository = new BatchingModelRepository(new SingleModelRepository("doubler", session, maxBatchSize: 12));

        using var first = await repository.AcquireAsync("doubler", null, CancellationToken.None);
        using var second = await repository.AcquireAsync("doubler", null, CancellationToken.None);

        var batcher = Assert.IsType<DynamicBatcher>(first.Session);
        Assert.Same(batcher, second.Session);
        Assert.Same(session, batcher.Inner);
        Assert.Equal(12, batcher.MaxBatchSize);
        Assert.True(batcher.IsBatching);
        Assert.Same(batcher, repository.FindBatcher("doubler"));
        Assert.Same(batcher, repository.FindBatcher("doubler", "1"));
    }

    [Fact]
    public async Task Acquire_WithConfiguredMaximum_OverridesTheManifest()
    {
        using var session = new DoublerSession();
        var repository = new BatchingModelRepository(new SingleModelRepository("doubler", session, maxBatchSize: 12), new DynamicBatchingOptions { MaxBatchSize = 3 });

        using var lease = await repository.AcquireAsync("doubler", null, CancellationToken.None);

        Assert.Equal(3, Assert.IsType<DynamicBatcher>(lease.Session).MaxBatchSize);
    }

    [Fact]
    public async Task Load_RecordsTheBatcherSoStatsKnowThePreloadedModel()
    {
        using var session = new DoublerSession();
        var repository = new BatchingModelRepository(new SingleModelRepository("doubler", session, maxBatchSize: 0));
        Assert.Null(repository.FindBatcher("doubler"));

        await repository.LoadAsync("doubler", CancellationToken.None);

        var batcher = repository.FindBatcher("doubler");
        Assert.NotNull(batcher);
        Assert.False(batcher.IsBatching); // maxBatchSize 0 in the manifest turns batching off
        Assert.Null(repository.FindBatcher("unknown"));
    }
}
