namespace Serverless.Core.Models;

/// <summary>
/// Life cycle of one model version in a process. <see cref="Ready"/> means the model can be served: its
/// manifest is valid and its artifact is present and verified (SHA-256) in the store or cache. Whether a
/// session is in memory is <see cref="ModelStatus.Loaded"/>, a separate fact; for a model named in
/// MODEL_PRELOAD, ready means loaded.
/// </summary>
public enum ModelState
{
    /// <summary>Known from its manifest; its artifact has not been checked yet (a readiness call checks it).</summary>
    Unavailable,
    /// <summary>The artifact is being verified, or (MODEL_PRELOAD, or a retry after a failure) the session created.</summary>
    Loading,
    /// <summary>Servable: verified, and loaded when preloaded. A request for a model not yet loaded loads it first.</summary>
    Ready,
    /// <summary>The last check or load failed; <see cref="ModelStatus.Reason"/> says why. A later request or readiness call retries (with backoff).</summary>
    Failed,
}

/// <summary>State of one model version, with a reason for people when it is not ready.</summary>
public sealed record ModelStatus(string Name, string Version, ModelState State, string? Reason = null)
{
    /// <summary>Whether a session is in memory now, so a request runs without loading first.</summary>
    public bool Loaded { get; init; }

    /// <summary>The protocol's spelling: UNAVAILABLE, LOADING, READY, FAILED.</summary>
    public string StateText => State switch
    {
        ModelState.Loading => "LOADING",
        ModelState.Ready => "READY",
        ModelState.Failed => "FAILED",
        _ => "UNAVAILABLE",
    };
}
