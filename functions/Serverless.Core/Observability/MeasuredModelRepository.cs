using System.Diagnostics;
using System.Runtime.CompilerServices;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Tensors;

namespace Serverless.Core.Observability;

/// <summary>
/// An <see cref="IModelRepository"/> decorator that records, into <see cref="InferenceTimings"/>, how long
/// each lease spent loading its model and how long every <see cref="IInferenceSession.Run"/> took, so a
/// host can log load and run time per request without the protocol handler knowing about logging.
/// One wrapper per session is cached, so per-session caches keyed by the session keep working.
/// </summary>
public sealed class MeasuredModelRepository : IModelRepository
{
    private readonly IModelRepository _inner;
    private readonly InferenceTimings _timings;
    private readonly ConditionalWeakTable<IInferenceSession, TimedSession> _sessions = new();

    public MeasuredModelRepository(IModelRepository inner, InferenceTimings timings)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _timings = timings ?? throw new ArgumentNullException(nameof(timings));
    }

    public IReadOnlyList<ModelManifest> Manifests => _inner.Manifests;

    public ModelManifest? Find(string name) => _inner.Find(name);

    public ModelStatus GetStatus(string name, string? version = null) => _inner.GetStatus(name, version);

    public Task<ModelStatus> CheckAsync(string name, string? version, CancellationToken cancellationToken) => _inner.CheckAsync(name, version, cancellationToken);

    public async ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        var lease = await _inner.AcquireAsync(name, version, cancellationToken).ConfigureAwait(false);
        if (lease.LoadMilliseconds > 0)
        {
            _timings.AddLoad(TimeSpan.FromMilliseconds(lease.LoadMilliseconds));
        }

        var timed = _sessions.GetValue(lease.Session, s => new TimedSession(s, _timings));
        return new ModelLease(lease.Manifest, lease.Version, timed, lease.Dispose) { LoadMilliseconds = lease.LoadMilliseconds };
    }

    public async Task LoadAsync(string name, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await _inner.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        _timings.AddLoad(Stopwatch.GetElapsedTime(started));
    }

    public Task UnloadAsync(string name, CancellationToken cancellationToken) => _inner.UnloadAsync(name, cancellationToken);

    /// <summary>Forwards to the real session and times <see cref="Run"/>; the registry keeps owning (and disposing) the real one.</summary>
    private sealed class TimedSession(IInferenceSession inner, InferenceTimings timings) : IInferenceSession
    {
        public IReadOnlyList<TensorSpec> Inputs => inner.Inputs;

        public IReadOnlyList<TensorSpec> Outputs => inner.Outputs;

        public string ExecutionProvider => inner.ExecutionProvider;

        public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                inner.Run(inputs, outputIndices, results, cancellationToken);
            }
            finally
            {
                timings.AddRun(Stopwatch.GetElapsedTime(started));
            }
        }

        public void Dispose()
        {
        }
    }
}
