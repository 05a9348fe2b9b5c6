using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Tests.Models.Fakes;

namespace Serverless.Core.Tests.Models;

public sealed class ModelRegistryTests
{
    private readonly FakeArtifactSource _artifacts = new();
    private readonly FakeSessionFactory _factory = new();
    private readonly FakeTimeProvider _clock = new();

    private ModelRegistry Create(long budget = long.MaxValue, params string[] names) =>
        new(names.Length == 0 ? [TestManifests.Create("alpha")] : names.Select(n => TestManifests.Create(n)),
            _artifacts, _factory, new ModelRegistryOptions { MemoryBudgetBytes = budget, TimeProvider = _clock });

    [Fact]
    public async Task Acquire_With50ConcurrentColdRequests_DownloadsAndCreatesTheSessionExactlyOnce()
    {
        using var registry = Create();
        _artifacts.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = Enumerable.Range(0, 50).Select(_ => Task.Run(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask())).ToArray();
        await WaitUntil(() => _artifacts.Calls == 1);
        Assert.Equal(ModelState.Loading, registry.GetStatus("alpha").State);
        _artifacts.Gate.SetResult();

        var leases = await Task.WhenAll(requests);

        Assert.Equal(1, _artifacts.Calls);
        Assert.Equal(1, _factory.Created);
        Assert.Equal(1, registry.LoadCount("alpha"));
        Assert.All(leases, l => Assert.Same(_factory.Sessions[0], l.Session));
        Assert.Equal(ModelState.Ready, registry.GetStatus("alpha").State);
        foreach (var lease in leases)
        {
            lease.Dispose();
        }
    }

    [Fact]
    public async Task Acquire_WhenAlreadyLoaded_ReturnsAtOnceWithZeroLoadTime()
    {
        using var registry = Create();
        (await registry.AcquireAsync("alpha", null, CancellationToken.None)).Dispose();

        using var lease = await registry.AcquireAsync("alpha", "1", CancellationToken.None);

        Assert.Equal(0, lease.LoadMilliseconds);
        Assert.Equal(1, _factory.Created);
    }

    [Fact]
    public async Task Acquire_UnknownModel_ThrowsNotFoundListingTheAvailableModels()
    {
        using var registry = Create(long.MaxValue, "alpha", "beta");

        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("gamma", null, CancellationToken.None).AsTask());

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Contains("'gamma'", error.Message);
        Assert.Contains("alpha, beta", error.Message);
        Assert.Equal(0, _artifacts.Calls);
    }

    [Fact]
    public async Task Acquire_UnknownVersion_ThrowsNotFoundListingTheVersions()
    {
        using var registry = Create();

        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("alpha", "7", CancellationToken.None).AsTask());

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Contains("no version '7'", error.Message);
        Assert.Contains("Available versions: 1", error.Message);
    }

    [Fact]
    public async Task Acquire_WhenOneWaiterDeadlinePasses_OnlyThatWaiterTimesOutAndTheSharedLoadContinues()
    {
        using var registry = Create();
        _artifacts.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var shortDeadline = new CancellationTokenSource();
        var impatient = registry.AcquireAsync("alpha", null, shortDeadline.Token).AsTask();
        var patient = registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask();
        await WaitUntil(() => _artifacts.Calls == 1);

        await shortDeadline.CancelAsync();
        var error = await Assert.ThrowsAsync<InferenceException>(() => impatient);
        _artifacts.Gate.SetResult();
        using var lease = await patient;

        Assert.Equal(ErrorCode.Timeout, error.Code);
        Assert.Contains("still loading", error.Message);
        Assert.Equal(1, error.RetryAfterSeconds);
        Assert.Equal(1, _factory.Created);
        Assert.False(((FakeSession)lease.Session).IsDisposed);
    }

    [Fact]
    public async Task Acquire_WhenLoadFails_ReportsTheFailureToEveryWaiterThenRetriesAfterBackoff()
    {
        using var registry = Create();
        _artifacts.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _artifacts.FailWith = FakeArtifactSource.StoreDown;
        var waiters = Enumerable.Range(0, 10).Select(_ => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask()).ToArray();
        await WaitUntil(() => _artifacts.Calls == 1);
        _artifacts.Gate.SetResult();

        foreach (var waiter in waiters)
        {
            var error = await Assert.ThrowsAsync<InferenceException>(() => waiter);
            Assert.Equal(ErrorCode.StorageUnavailable, error.Code);
        }

        var status = registry.GetStatus("alpha");
        Assert.Equal(ModelState.Failed, status.State);
        Assert.Contains("store unreachable", status.Reason);

        // Within the back-off: no new attempt, a NotReady with the reason and Retry-After.
        var during = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask());
        Assert.Equal(ErrorCode.NotReady, during.Code);
        Assert.Equal(1, during.RetryAfterSeconds);
        Assert.Contains("store unreachable", during.Message);
        Assert.Equal(1, _artifacts.Calls);

        _artifacts.FailWith = _ => null;
        _clock.Advance(TimeSpan.FromSeconds(1.1));
        using var lease = await registry.AcquireAsync("alpha", null, CancellationToken.None);

        Assert.Equal(2, _artifacts.Calls);
        Assert.Equal(ModelState.Ready, registry.GetStatus("alpha").State);
    }

    [Fact]
    public async Task Acquire_AfterRepeatedFailures_BacksOffExponentiallyUpTo30Seconds()
    {
        using var registry = Create();
        _artifacts.FailWith = FakeArtifactSource.StoreDown;
        var retryAfter = new List<int>();
        for (var i = 0; i < 7; i++)
        {
            await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask());
            var during = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask());
            retryAfter.Add(during.RetryAfterSeconds!.Value);
            _clock.Advance(TimeSpan.FromSeconds(during.RetryAfterSeconds.Value));
        }

        Assert.Equal([1, 2, 4, 8, 16, 30, 30], retryAfter);
        Assert.Equal(7, _artifacts.Calls);
    }

    [Fact]
    public async Task Acquire_WhenSessionCreationThrowsAPlainException_WrapsItAsRuntimeFailureNamingTheModel()
    {
        using var registry = Create();
        _factory.FailWith = _ => new InvalidOperationException("bad graph");

        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask());

        Assert.Equal(ErrorCode.RuntimeFailure, error.Code);
        Assert.Contains("'alpha'", error.Message);
        Assert.Contains("bad graph", error.Message);
    }

    [Fact]
    public async Task Load_OverBudget_EvictsTheLeastRecentlyUsedModel()
    {
        // Each fake model is charged 2 x 1000 bytes; the budget holds two.
        using var registry = Create(4000, "a", "b", "c");
        await registry.LoadAsync("a", CancellationToken.None);
        await registry.LoadAsync("b", CancellationToken.None);
        (await registry.AcquireAsync("a", null, CancellationToken.None)).Dispose(); // a is now the most recent

        await registry.LoadAsync("c", CancellationToken.None);

        Assert.True(registry.GetStatus("a").Loaded);
        Assert.False(registry.GetStatus("b").Loaded);
        Assert.True(registry.GetStatus("c").Loaded);
        Assert.Equal(ModelState.Ready, registry.GetStatus("b").State); // still servable: verified, loads again on use
        Assert.True(_factory.Sessions.Single(s => s.ModelName == "b").IsDisposed);
        Assert.Equal(4000, registry.ResidentBytes);
    }

    [Fact]
    public async Task Evict_WhileALeaseIsHeld_DefersDisposalUntilTheLastLeaseEnds()
    {
        using var registry = Create(2000, "a", "b");
        var lease1 = await registry.AcquireAsync("a", null, CancellationToken.None);
        var lease2 = await registry.AcquireAsync("a", null, CancellationToken.None);
        var sessionA = (FakeSession)lease1.Session;

        await registry.LoadAsync("b", CancellationToken.None);

        Assert.False(registry.GetStatus("a").Loaded);
        Assert.False(sessionA.IsDisposed);
        sessionA.Run([], [], []);
        lease1.Dispose();
        lease1.Dispose(); // a lease released twice counts once
        Assert.False(sessionA.IsDisposed);
        lease2.Dispose();
        Assert.True(sessionA.IsDisposed);
    }

    [Fact]
    public async Task Evict_AModelLargerThanTheBudget_StillServesTheNewestOne()
    {
        using var registry = Create(10, "a", "b");
        await registry.LoadAsync("a", CancellationToken.None);

        using var lease = await registry.AcquireAsync("b", null, CancellationToken.None);

        Assert.True(registry.GetStatus("b").Loaded);
        Assert.False(registry.GetStatus("a").Loaded);
    }

    [Fact]
    public async Task Acquire_UnderEvictionPressureFromManyThreads_NeverRunsADisposedSession()
    {
        using var registry = Create(4000, "a", "b", "c", "d");
        var names = new[] { "a", "b", "c", "d" };
        var tasks = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    using var lease = await registry.AcquireAsync(names[(worker + i) % 4], null, CancellationToken.None);
                    lease.Session.Run([], [], []);
                }
                catch (InferenceException e) when (e.Code == ErrorCode.Overloaded)
                {
                    // Allowed under extreme churn; ObjectDisposedException is not.
                }
            }
        })).ToArray();

        await Task.WhenAll(tasks);

        Assert.True(_factory.Created > 4);
        Assert.True(registry.ResidentBytes <= 4000);
        var live = _factory.Sessions.Count(s => !s.IsDisposed);
        Assert.Equal(2, live);
    }

    [Fact]
    public async Task Unload_DisposesTheSessionAndTheNextRequestLoadsAgain()
    {
        using var registry = Create();
        await registry.LoadAsync("alpha", CancellationToken.None);

        await registry.UnloadAsync("alpha", CancellationToken.None);

        Assert.False(registry.GetStatus("alpha").Loaded);
        Assert.Equal("ready, loads on first use", registry.GetStatus("alpha").Reason);
        Assert.True(_factory.Sessions[0].IsDisposed);
        using var lease = await registry.AcquireAsync("alpha", null, CancellationToken.None);
        Assert.Equal(2, _factory.Created);
        Assert.Equal(2000, registry.ResidentBytes);
    }

    [Fact]
    public async Task Dispose_DisposesIdleSessionsAndRefusesNewRequests()
    {
        var registry = Create();
        await registry.LoadAsync("alpha", CancellationToken.None);

        registry.Dispose();

        Assert.True(_factory.Sessions[0].IsDisposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask());
    }

    [Fact]
    public void GetStatus_BeforeAnyRequest_IsUnavailableWithAReason()
    {
        using var registry = Create();

        var status = registry.GetStatus("alpha");

        Assert.Equal("UNAVAILABLE", status.StateText);
        Assert.Equal("1", status.Version);
        Assert.Contains("first request", status.Reason);
        Assert.Equal(0, _artifacts.Calls);
    }

    [Fact]
    public async Task Check_VerifiesTheArtifactWithoutCreatingASession_AndTheModelIsReadyNotLoaded()
    {
        using var registry = Create();

        var status = await registry.CheckAsync("alpha", null, CancellationToken.None);

        Assert.Equal(ModelState.Ready, status.State);
        Assert.False(status.Loaded);
        Assert.Equal("ready, loads on first use", status.Reason);
        Assert.Equal(1, _artifacts.Calls);
        Assert.Equal(0, _factory.Created);
        await registry.CheckAsync("alpha", null, CancellationToken.None);
        Assert.Equal(1, _artifacts.Calls); // checked once per process
    }

    [Fact]
    public async Task Check_OfAnArtifactTheStoreCannotGive_IsFailedWithTheReason_AndRequestsGetItToo()
    {
        _artifacts.FailWith = FakeArtifactSource.StoreDown;
        using var registry = Create();

        var status = await registry.CheckAsync("alpha", null, CancellationToken.None);

        Assert.Equal(ModelState.Failed, status.State);
        Assert.Contains("store unreachable", status.Reason);
        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask());
        Assert.Contains("store unreachable", error.Message);
    }

    [Fact]
    public async Task Check_OfAPreloadedModel_MeansLoaded()
    {
        using var registry = new ModelRegistry([TestManifests.Create("alpha")], _artifacts, _factory,
            new ModelRegistryOptions { Preload = name => name == "alpha", TimeProvider = _clock });

        var first = await registry.CheckAsync("alpha", null, CancellationToken.None);
        Assert.NotEqual(ModelState.Ready, first.State);
        await WaitUntil(() => registry.GetStatus("alpha").State == ModelState.Ready);

        Assert.True(registry.GetStatus("alpha").Loaded);
        Assert.Equal(1, _factory.Created);
    }

    [Fact]
    public async Task VerifiedArtifactWhoseSessionFails_IsEvictedAndFetchedOnce_ThenFailsAsIntegrityFailure()
    {
        _factory.FailWith = _ => new InferenceException(ErrorCode.InvalidInput, "ORT_INVALID_PROTOBUF: bad header");
        using var registry = Create();

        var error = await Assert.ThrowsAsync<InferenceException>(() => registry.AcquireAsync("alpha", null, CancellationToken.None).AsTask());

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Contains("bad header", error.Message);
        Assert.Equal(2, _artifacts.Calls);
        Assert.Equal(1, _artifacts.Evictions);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
