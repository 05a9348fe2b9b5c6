using Serverless.Core.Errors;

namespace Serverless.Core.Models;

/// <summary>
/// A repository that also lists models that cannot be loaded (<see cref="UnloadableModel"/>): they appear in
/// <see cref="Manifests"/> and the index as FAILED with their reason, and acquiring or loading one throws its
/// error (503, naming the file and what ONNX Runtime said). Every other call goes to the inner repository, so
/// the models that do load are served as if the others were not there.
/// </summary>
public sealed class UnloadableModelsRepository : IModelRepository
{
    private readonly IModelRepository _inner;
    private readonly Dictionary<string, UnloadableModel> _unloadable;

    public UnloadableModelsRepository(IModelRepository inner, IEnumerable<UnloadableModel> unloadable)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(unloadable);
        _inner = inner;
        _unloadable = unloadable.ToDictionary(u => u.Name, StringComparer.Ordinal);
        var all = new List<ModelManifest>(inner.Manifests);
        all.AddRange(_unloadable.Values.Select(u => u.Manifest));
        all.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        Manifests = all;
    }

    public IReadOnlyList<ModelManifest> Manifests { get; }

    public IReadOnlyCollection<UnloadableModel> Unloadable => _unloadable.Values;

    public ModelManifest? Find(string name) => _inner.Find(name) ?? (FindUnloadable(name, null) is { } model ? model.Manifest : null);

    public ModelStatus GetStatus(string name, string? version = null) =>
        FindUnloadable(name, version) is { } model
            ? new ModelStatus(name, model.Manifest.DefaultVersion, ModelState.Failed, model.Error.Message)
            : _inner.GetStatus(name, version);

    /// <summary>An unloadable model stays FAILED: there is nothing to check that would make it servable.</summary>
    public Task<ModelStatus> CheckAsync(string name, string? version, CancellationToken cancellationToken) =>
        FindUnloadable(name, version) is not null ? Task.FromResult(GetStatus(name, version)) : _inner.CheckAsync(name, version, cancellationToken);

    public ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken) =>
        FindUnloadable(name, version) is { } model
            ? ValueTask.FromException<ModelLease>(model.Error)
            : _inner.AcquireAsync(name, version, cancellationToken);

    public Task LoadAsync(string name, CancellationToken cancellationToken) =>
        FindUnloadable(name, null) is { } model ? Task.FromException(model.Error) : _inner.LoadAsync(name, cancellationToken);

    /// <summary>An unloadable model holds nothing to unload.</summary>
    public Task UnloadAsync(string name, CancellationToken cancellationToken) =>
        FindUnloadable(name, null) is not null ? Task.CompletedTask : _inner.UnloadAsync(name, cancellationToken);

    /// <summary>The unloadable model <paramref name="name"/>; NotFound for a version it does not have; null for other models.</summary>
    private UnloadableModel? FindUnloadable(string name, string? version)
    {
        if (name is null || !_unloadable.TryGetValue(name, out var model))
        {
            return null;
        }

        return version is null || model.Manifest.FindVersion(version) is not null
            ? model
            : throw new InferenceException(ErrorCode.NotFound, $"Model '{name}' has no version '{Storage.ObjectKey.Printable(version)}'. Available versions: {model.Manifest.DefaultVersion}.") { Model = name };
    }
}
