namespace Serverless.Core.Models;

/// <summary>Life cycle of one model version in a process.</summary>
public enum ModelState
{
    /// <summary>Known from its manifest, not loaded.</summary>
    Unavailable,
    /// <summary>A download or session creation is under way.</summary>
    Loading,
    /// <summary>Loaded; requests run at once.</summary>
    Ready,
    /// <summary>The last load failed; <see cref="ModelStatus.Reason"/> says why. A later request retries (with backoff).</summary>
    Failed,
}

/// <summary>State of one model version, with a reason for people when it is not ready.</summary>
public sealed record ModelStatus(string Name, string Version, ModelState State, string? Reason = null)
{
    /// <summary>The protocol's spelling: UNAVAILABLE, LOADING, READY, FAILED.</summary>
    public string StateText => State switch
    {
        ModelState.Loading => "LOADING",
        ModelState.Ready => "READY",
        ModelState.Failed => "FAILED",
        _ => "UNAVAILABLE",
    };
}
