using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Cli.Commands;
using Serverless.Cli.Hosting;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Storage;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// MODEL_PRELOAD in <c>serve</c> does not hold up the start: the server listens at once, the named models load
/// in the background, a request for one joins that load, readiness says false until it is done, and a failed
/// preload leaves the server serving with the reason in the log and in the readiness answer. The loads are
/// gated by hand (the real verified cache behind a gate), so nothing here depends on timing.
/// </summary>
public sealed class ServePreloadTests
{
    [Fact]
    public async Task Preload_ServerListensBeforeTheModelLoads_ReadyFalseThenTrue_RequestJoinsTheLoad()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new StringWriter();
        // A start that waited for the preload would never return while the gate is shut: bounded, so it fails instead.
        var host = await StartAsync("text-direction", source => new GatedSource(source, gate.Task), output).WaitAsync(TimeSpan.FromSeconds(60));
        await using (host)
        {
            using var client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

            // Listening, the load is held at the gate: live, but neither the model nor the server is ready.
            using (var live = await client.GetAsync("/v2/health/live"))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            var (status, ready, state) = await ReadyAsync(client, "/v2/models/text-direction/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.False(ready);
            Assert.Contains("LOADING", state, StringComparison.OrdinalIgnoreCase);
            using (var serverReady = await client.GetAsync("/v2/health/ready"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, serverReady.StatusCode);
            }

            Assert.False(host.Preload.IsCompleted);

            // A request for the model now waits on the same load instead of starting another.
            var infer = client.PostAsync("/v2/models/text-direction/infer", new StringContent(InferRequests.TextDirection(), Encoding.UTF8, "application/json"));
            await Task.Delay(200);
            Assert.False(infer.IsCompleted, "the infer answered while its model's load was held at the gate");

            gate.SetResult();
            using (var response = await infer)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            var statuses = await host.Preload.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(ModelState.Ready, Assert.Single(statuses).State);
            Assert.Equal(1, ((ModelRegistry)host.Repository).LoadCount("text-direction"));
            (status, ready, _) = await ReadyAsync(client, "/v2/models/text-direction/ready");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.True(ready);
            using (var serverReady = await client.GetAsync("/v2/health/ready"))
            {
                Assert.Equal(HttpStatusCode.OK, serverReady.StatusCode);
            }
        }

        var log = output.ToString();
        Assert.Contains("MODEL_PRELOAD loading text-direction in the background", log);
        Assert.Contains("MODEL_PRELOAD: text-direction v1 is loaded and ready", log);
    }

    [Fact]
    public async Task Preload_FailingLoad_LeavesTheServerServingAndReportsTheReason()
    {
        var output = new StringWriter();
        var host = await StartAsync("text-direction", source => new FailingSource(source, "text-direction"), output);
        await using (host)
        {
            var statuses = await host.Preload.WaitAsync(TimeSpan.FromSeconds(60));
            var failed = Assert.Single(statuses);
            Assert.Equal(ModelState.Failed, failed.State);
            Assert.Contains(FailingSource.Reason, failed.Reason);

            using var client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            var (status, ready, _) = await ReadyAsync(client, "/v2/models/text-direction/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.False(ready);
            using (var readyBody = await client.GetAsync("/v2/models/text-direction/ready"))
            {
                Assert.Contains(FailingSource.Reason, await readyBody.Content.ReadAsStringAsync());
            }

            // Still serving: liveness, and a model the preload did not name loads on its request.
            using (var live = await client.GetAsync("/v2/health/live"))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            using var other = await client.PostAsync("/v2/models/voice-activity/infer", new StringContent(InferRequests.VoiceActivity(), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        var log = output.ToString();
        Assert.Contains("warn: serverless[3] MODEL_PRELOAD: text-direction v1 failed to load", log);
        Assert.Contains(FailingSource.Reason, log);
    }

    [Fact]
    public async Task NoPreload_PreloadTaskIsDoneAndNothingLoads()
    {
        var output = new StringWriter();
        var host = await StartAsync(null, null, output);
        await using (host)
        {
            Assert.True(host.Preload.IsCompletedSuccessfully);
            Assert.Empty(await host.Preload);
            Assert.Equal(0, ((ModelRegistry)host.Repository).LoadCount("text-direction"));
        }

        Assert.Contains("models load on first use", output.ToString());
    }

    [Fact]
    public async Task Preload_UnknownName_StillFailsTheStartNamingTheVariable()
    {
        var error = await Assert.ThrowsAsync<InferenceException>(() => StartAsync("no-such-model", null, new StringWriter()));

        Assert.Contains("MODEL_PRELOAD", error.Message);
        Assert.Contains("no-such-model", error.Message);
    }

    private static async Task<ServeHost> StartAsync(string? preload, Func<IModelArtifactSource, IModelArtifactSource>? wrap, StringWriter output)
    {
        TestEnvironment.EnsureOrtLibrary();
        var options = ServerFixture.RepoServeOptions() with { Preload = preload, WrapArtifactSource = wrap };
        var console = new CliConsole(TextWriter.Synchronized(output), TextWriter.Synchronized(output), isTerminal: false);
        var host = await ServeHost.StartAsync(options, console, CancellationToken.None);
        await host.PrintBannerAsync(console);
        return host;
    }

    private static async Task<(HttpStatusCode Status, bool Ready, string State)> ReadyAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        var state = root.TryGetProperty("state", out var s) ? s.GetString() ?? string.Empty : root.ToString();
        return (response.StatusCode, root.GetProperty("ready").GetBoolean(), state);
    }

    /// <summary>The real cache, with every fetch held until the gate opens.</summary>
    private sealed class GatedSource(IModelArtifactSource inner, Task gate) : IModelArtifactSource
    {
        public async Task<VerifiedArtifact> GetAsync(ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken)
        {
            await gate.WaitAsync(cancellationToken);
            return await inner.GetAsync(manifest, version, cancellationToken);
        }

        public bool Evict(ModelManifest manifest, ModelVersionManifest version) => inner.Evict(manifest, version);
    }

    /// <summary>The real cache, except that one model's store is "down".</summary>
    private sealed class FailingSource(IModelArtifactSource inner, string failing) : IModelArtifactSource
    {
        public const string Reason = "test: the store for this model is down";

        public Task<VerifiedArtifact> GetAsync(ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken) =>
            manifest.Name == failing
                ? throw new InferenceException(ErrorCode.StorageUnavailable, Reason) { Model = manifest.Name }
                : inner.GetAsync(manifest, version, cancellationToken);

        public bool Evict(ModelManifest manifest, ModelVersionManifest version) => inner.Evict(manifest, version);
    }
}
