using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Storage;

namespace Serverless.Core.Models;

/// <summary>
/// How the registry proves a session's bytes before it answers: the artifact source verifies the file, the
/// session must fit the manifest (<see cref="ModelContract"/>), and a verified file that still gives no usable
/// session is evicted and fetched once more, with every failure reported to the integrity events.
/// </summary>
public sealed partial class ModelRegistry
{
    /// <summary>
    /// A session whose bytes are proven: the artifact verified by its source, the session fitting the manifest.
    /// A verified artifact that gives no usable session is evicted and fetched once more; a second failure is
    /// final (IntegrityFailure), so a store that serves bad bytes costs one extra download per load, not a loop.
    /// </summary>
    private async Task<IInferenceSession> CreateProvenSessionAsync(ModelEntry entry)
    {
        var artifact = await _artifacts.GetAsync(entry.Manifest, entry.Version, _lifetime.Token).ConfigureAwait(false);
        SetVerified(entry, artifact);
        _lifetime.Token.ThrowIfCancellationRequested();
        if (TryCreateSession(entry, artifact, out var session) is not { } first)
        {
            return session!;
        }

        _integrity.SessionRejected(entry.Manifest.Name, entry.Version.Version, artifact.Path, first.Message);
        _options.OptimizedGraphs?.Evict(entry.Manifest.Name, artifact, _options.SessionSettings);
        if (!_artifacts.Evict(entry.Manifest, entry.Version))
        {
            throw Unusable(entry, artifact, first, fetchedAgain: false);
        }

        _integrity.Redownloading(entry.Manifest.Name, entry.Version.Version);
        artifact = await _artifacts.GetAsync(entry.Manifest, entry.Version, _lifetime.Token).ConfigureAwait(false);
        SetVerified(entry, artifact);
        _lifetime.Token.ThrowIfCancellationRequested();
        if (TryCreateSession(entry, artifact, out session) is not { } second)
        {
            return session!;
        }

        _integrity.SessionRejected(entry.Manifest.Name, entry.Version.Version, artifact.Path, second.Message);
        throw Unusable(entry, artifact, second, fetchedAgain: true);
    }

    /// <summary>
    /// Creates and checks a session; returns why the artifact gave no usable one (null on success). Only the
    /// artifact's own faults count (ONNX Runtime refusing the bytes, a session that contradicts the manifest);
    /// anything else (memory, an execution provider) fails the load as it is.
    /// </summary>
    private InferenceException? TryCreateSession(ModelEntry entry, VerifiedArtifact artifact, out IInferenceSession? session)
    {
        var name = entry.Manifest.Name;
        session = null;
        try
        {
            session = _options.OptimizedGraphs is { } graphs
                ? graphs.Create(_factory, name, artifact, _options.SessionSettings, s => ModelContract.Check(entry.Manifest, s))
                : _factory.Create(name, artifact.Path, _options.SessionSettings);
        }
        catch (InferenceException e) when (e.Code is ErrorCode.InvalidInput or ErrorCode.IntegrityFailure)
        {
            return e;
        }

        if (ModelContract.Check(entry.Manifest, session) is { } unfit)
        {
            session.Dispose();
            session = null;
            return new InferenceException(ErrorCode.IntegrityFailure, $"The session does not fit the manifest: {unfit}") { Model = name };
        }

        return null;
    }

    private static InferenceException Unusable(ModelEntry entry, VerifiedArtifact artifact, InferenceException cause, bool fetchedAgain) =>
        new(ErrorCode.IntegrityFailure,
            $"Model '{entry.Manifest.Name}' version {entry.Version.Version}: the artifact matches its manifest's SHA-256 ({artifact.Sha256}) " +
            (fetchedAgain ? "and was downloaded again, " : $"({artifact.Path}), ") +
            $"but gives no usable session: {cause.Message} " +
            "The store holds a model that does not match its manifest: re-publish the model, or fix the manifest's inputs and outputs.", cause)
        { Model = entry.Manifest.Name };

    private void SetVerified(ModelEntry entry, VerifiedArtifact artifact)
    {
        lock (_gate)
        {
            entry.Verified = artifact;
        }
    }
}
