using Serverless.Core.Errors;

namespace Serverless.Core.Models;

/// <summary>
/// Readiness of the registry's models. A model is ready when it can be served: its manifest is valid (the
/// registry was built from it) and its artifact is present and verified, by a readiness check or a load.
/// Whether its session is in memory is <see cref="ModelStatus.Loaded"/>. For a MODEL_PRELOAD model, ready
/// means loaded. <see cref="CheckAsync"/> verifies without creating a session, so a "wait until ready" loop
/// ends without an inference.
/// </summary>
public sealed partial class ModelRegistry
{
    /// <summary>State of a version now, without checking anything (see <see cref="CheckAsync"/>).</summary>
    public ModelStatus GetStatus(string name, string? version = null)
    {
        var entry = GetEntry(name, version);
        lock (_gate)
        {
            return StatusOf(entry);
        }
    }

    /// <summary>Status of every version of every model, sorted by name.</summary>
    public IReadOnlyList<ModelStatus> GetStatuses() =>
        [.. Manifests.SelectMany(m => m.Versions.Select(v => GetStatus(m.Name, v.Version)))];

    /// <summary>
    /// The version's status after making sure it was checked: an unchecked artifact is verified (one check at
    /// a time per version, no session), waiting for it at most <see cref="ModelRegistryOptions.ReadinessWait"/>
    /// so a probe is answered promptly; a preloaded model that is not loaded, or a model whose last load
    /// failed and whose back-off has passed, starts loading in the background.
    /// </summary>
    public async Task<ModelStatus> CheckAsync(string name, string? version, CancellationToken cancellationToken)
    {
        var entry = GetEntry(name, version);
        Task? check;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (entry.Loaded is null && entry.LoadTask is null)
            {
                var retryDue = entry.LastError is not null && _time.GetUtcNow() >= entry.RetryAt;
                var preloadDue = entry.LastError is null && _options.Preload(entry.Manifest.Name);
                if (retryDue || preloadDue)
                {
                    entry.LoadTask = StartLoad(entry);
                }
                else if (entry.LastError is null && entry.Verified is null)
                {
                    entry.CheckTask ??= StartCheck(entry);
                }
            }

            check = entry.CheckTask;
        }

        if (check is not null)
        {
            try
            {
                await check.WaitAsync(_options.ReadinessWait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A long download: answer now ("verifying the artifact"); the check goes on for the next call.
            }
        }

        return GetStatus(name, version);
    }

    /// <summary>The state of <paramref name="entry"/>; called under the lock.</summary>
    private ModelStatus StatusOf(ModelEntry entry)
    {
        var name = entry.Manifest.Name;
        var id = entry.Version.Version;
        if (entry.Loaded is not null)
        {
            return new ModelStatus(name, id, ModelState.Ready, "loaded") { Loaded = true };
        }

        var preload = _options.Preload(name);
        if (entry.LoadTask is not null)
        {
            var loading = entry.Failures > 0 ? $"retrying after: {entry.LastError?.Message}" : "loading";
            return entry.Verified is not null && !preload && entry.Failures == 0
                ? new ModelStatus(name, id, ModelState.Ready, $"ready, {loading} for a request")
                : new ModelStatus(name, id, ModelState.Loading, preload ? $"MODEL_PRELOAD: {loading}" : loading);
        }

        if (entry.LastError is { } error)
        {
            return new ModelStatus(name, id, ModelState.Failed, error.Message);
        }

        if (entry.Verified is not null)
        {
            return preload
                ? new ModelStatus(name, id, ModelState.Loading, "MODEL_PRELOAD: verified, not loaded yet")
                : new ModelStatus(name, id, ModelState.Ready, "ready, loads on first use");
        }

        return entry.CheckTask is not null
            ? new ModelStatus(name, id, ModelState.Loading, "verifying the artifact")
            : new ModelStatus(name, id, ModelState.Unavailable, "not checked yet; a readiness call or the first request verifies it");
    }

    /// <summary>Verifies the artifact in the background; called under the lock. A failure counts like a failed load.</summary>
    private Task StartCheck(ModelEntry entry) => Task.Run(async () =>
    {
        try
        {
            var artifact = await _artifacts.GetAsync(entry.Manifest, entry.Version, _lifetime.Token).ConfigureAwait(false);
            lock (_gate)
            {
                entry.Verified = artifact;
                entry.CheckTask = null;
            }
        }
#pragma warning disable CA1031 // Recorded as the model's failure, with its reason, for readiness and requests to report.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var error = e as InferenceException ?? new InferenceException(ErrorCode.StorageUnavailable,
                $"Checking model '{entry.Manifest.Name}' version {entry.Version.Version} failed: {e.Message}", e) { Model = entry.Manifest.Name };
            lock (_gate)
            {
                entry.CheckTask = null;
                RecordFailure(entry, error);
            }
        }
    }, CancellationToken.None);
}
