using Serverless.Core.Inference;

namespace Serverless.Core.Models;

/// <summary>
/// A reference to a loaded model, held for the duration of one inference. While any lease is open the
/// repository will not dispose the session, even if it evicts it to honour the memory budget.
/// </summary>
public sealed class ModelLease : IDisposable
{
    private Action? _release;

    public ModelLease(ModelManifest manifest, ModelVersionManifest version, IInferenceSession session, Action? release)
    {
        Manifest = manifest;
        Version = version;
        Session = session;
        _release = release;
    }

    public ModelManifest Manifest { get; }

    public ModelVersionManifest Version { get; }

    public IInferenceSession Session { get; }

    /// <summary>Milliseconds spent loading the model for this request (0 when it was already loaded).</summary>
    public double LoadMilliseconds { get; init; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}
