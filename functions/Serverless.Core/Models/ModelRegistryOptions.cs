using Serverless.Core.Inference;
using Serverless.Core.Observability;

namespace Serverless.Core.Models;

/// <summary>How a <see cref="ModelRegistry"/> loads, keeps and retries models.</summary>
public sealed record ModelRegistryOptions
{
    /// <summary>
    /// Memory the loaded sessions may use together, by <see cref="EstimateBytes"/>. When a load goes over it,
    /// the least recently used other models are evicted (their sessions are disposed once their last lease
    /// ends). One model is always kept, even when it alone is over the budget.
    /// </summary>
    public long MemoryBudgetBytes { get; init; } = long.MaxValue;

    public SessionSettings SessionSettings { get; init; } = SessionSettings.Default;

    /// <summary>Clock for retry back-off; tests pass a hand-written fake.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Wait after the first failed load before a request may retry; doubles per failure.</summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between retries.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where integrity failures (artifacts, graphs, sessions) are logged and counted; null for a private, silent one.</summary>
    public IntegrityEvents? Integrity { get; init; }

    /// <summary>How long a readiness check waits for an artifact's verification (a download, from a remote store) before answering "verifying".</summary>
    public TimeSpan ReadinessWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Models whose readiness means loaded (MODEL_PRELOAD); a readiness check starts their load when nothing else has.</summary>
    public Func<string, bool> Preload { get; init; } = static _ => false;

    /// <summary>Keeps ORT's optimized graphs so later loads skip optimization (see <see cref="Models.OptimizedGraphCache"/>); null for none.</summary>
    public OptimizedGraphCache? OptimizedGraphs { get; init; }

    /// <summary>
    /// Memory a loaded session is charged against the budget. The default, twice the model file, reflects
    /// ONNX Runtime holding the initializers once as weights and again in optimized or pre-packed form (plus
    /// arena growth on the first runs). Replace it when a model is known to need more.
    /// </summary>
    public Func<ModelManifest, ModelVersionManifest, long> EstimateBytes { get; init; } = static (_, v) => 2 * v.Size;
}
