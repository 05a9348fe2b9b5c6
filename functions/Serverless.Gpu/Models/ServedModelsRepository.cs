using Serverless.Core.Errors;
using Serverless.Core.Models;

namespace Serverless.Gpu.Models;

/// <summary>
/// Narrows a repository to the models named in MODEL_NAMES (the heavy models the CDK stack routes here), so
/// the others answer 404 as unknown and the repository index lists only these. Names not in the catalog
/// are a start-up error.
/// </summary>
internal sealed class ServedModelsRepository : IModelRepository
{
    private readonly IModelRepository _inner;
    private readonly HashSet<string> _names;

    public ServedModelsRepository(IModelRepository inner, IReadOnlyList<string> names)
    {
        _inner = inner;
        _names = new HashSet<string>(names, StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (inner.Find(name) is null)
            {
                throw GpuServerOptions.Invalid("MODEL_NAMES", string.Join(',', names),
                    $"names from the catalog ({string.Join(", ", inner.Manifests.Select(m => m.Name))}); '{name}' is not one");
            }
        }

        Manifests = [.. inner.Manifests.Where(m => _names.Contains(m.Name))];
    }

    public IReadOnlyList<ModelManifest> Manifests { get; }

    public ModelManifest? Find(string name) => _names.Contains(name) ? _inner.Find(name) : null;

    public ModelStatus GetStatus(string name, string? version = null) => _inner.GetStatus(Served(name), version);

    public Task<ModelStatus> CheckAsync(string name, string? version, CancellationToken cancellationToken) => _inner.CheckAsync(Served(name), version, cancellationToken);

    public ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken) =>
        _inner.AcquireAsync(Served(name), version, cancellationToken);

    public Task LoadAsync(string name, CancellationToken cancellationToken) => _inner.LoadAsync(Served(name), cancellationToken);

    public Task UnloadAsync(string name, CancellationToken cancellationToken) => _inner.UnloadAsync(Served(name), cancellationToken);

    private string Served(string name) => _names.Contains(name)
        ? name
        : throw InferenceException.NotFound($"Model '{name}' is not served by this GPU server. Models served here: {string.Join(", ", _names)}.", name);
}
