using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Microsoft.Extensions.Logging;
using Serverless.Core.Models;
using Serverless.Core.Observability;
using Serverless.Core.Storage;

namespace Serverless.Core.Hosting;

/// <summary>
/// Builds the model side of a host from <see cref="ServerlessSettings"/>: the store, the verified cache, the
/// catalog and the <see cref="ModelRegistry"/>. Every host (CLI, Lambda, Azure, GPU) calls
/// <see cref="CreateAsync"/> the same way, so they all find, verify, cache and evict models identically.
/// </summary>
public sealed class ModelServices : IDisposable
{
    private ModelServices(ServerlessSettings settings, IObjectStore store, VerifiedModelCache cache, ModelRegistry registry, IReadOnlyList<UnloadableModel> unloadable, IReadOnlyList<SkippedModelFile> skipped, IntegrityEvents integrity)
    {
        Settings = settings;
        Store = store;
        Cache = cache;
        Registry = registry;
        Unloadable = unloadable;
        Skipped = skipped;
        Repository = unloadable.Count == 0 ? registry : new UnloadableModelsRepository(registry, unloadable);
        Integrity = integrity;
    }

    public ServerlessSettings Settings { get; }

    /// <summary>The store artifacts are read from (MODEL_STORE, or the folder of bare .onnx files).</summary>
    public IObjectStore Store { get; }

    public VerifiedModelCache Cache { get; }

    public ModelRegistry Registry { get; }

    /// <summary>The registry, plus the unloadable models of a folder of bare .onnx files (listed as FAILED with their reason).</summary>
    public IModelRepository Repository { get; }

    /// <summary>Files of a bare .onnx folder that ONNX Runtime could not load (or that could not be read); served as errors.</summary>
    public IReadOnlyList<UnloadableModel> Unloadable { get; }

    /// <summary>Files of a bare .onnx folder whose names cannot be model names; not served.</summary>
    public IReadOnlyList<SkippedModelFile> Skipped { get; }

    /// <summary>What the integrity checks caught (logged through <see cref="ModelServicesOptions.Logger"/> and counted).</summary>
    public IntegrityEvents Integrity { get; }

    /// <summary>
    /// Resolves the store, reads the catalog (models folder, bare .onnx folder, or the store's published
    /// manifests), applies MODEL_NAME and checks MODEL_PRELOAD, and removes the temporary files that killed
    /// downloads left in the cache. Does not load models: call <see cref="PreloadAsync"/> (hosts do so during
    /// their init phase). Configuration errors throw InvalidInput.
    /// </summary>
    public static async Task<ModelServices> CreateAsync(
        ServerlessSettings settings,
        IInferenceSessionFactory factory,
        ObjectStoreResolver? resolver = null,
        ModelServicesOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(factory);
        resolver ??= new ObjectStoreResolver();
        options ??= new ModelServicesOptions();

        IObjectStore store;
        IReadOnlyList<ModelManifest> manifests;
        IReadOnlyList<UnloadableModel> unloadable = [];
        IReadOnlyList<SkippedModelFile> skipped = [];
        if (settings.ModelsDirectory is { } folder && !ModelCatalog.FolderHasManifests(folder) && DerivedManifest.FolderHasModels(folder))
        {
            store = new LocalObjectStore(folder);
            var derived = await DerivedManifest.FromFolderAsync(folder, factory, options.SessionSettings, cancellationToken).ConfigureAwait(false);
            (manifests, unloadable, skipped) = (derived.Manifests, derived.Unloadable, derived.Skipped);
        }
        else if (settings.ModelsDirectory is { } manifestsFolder)
        {
            store = resolver.Resolve(settings.ModelStore);
            manifests = ModelCatalog.LoadFromFolder(manifestsFolder);
        }
        else
        {
            store = resolver.Resolve(settings.ModelStore);
            manifests = await ModelCatalog.LoadFromStoreAsync(store, cancellationToken).ConfigureAwait(false);
            if (manifests.Count == 0)
            {
                throw new InferenceException(ErrorCode.InvalidInput,
                    $"No models found: the store {store.Root} holds no <name>/model.json and SERVERLESS_MODELS_DIR is not set. " +
                    "Publish models to the store (serverless publish --store URI), or set SERVERLESS_MODELS_DIR to a models folder.");
            }
        }

        var available = string.Join(", ", manifests.Select(m => m.Name).Concat(unloadable.Select(u => u.Name)).Order(StringComparer.Ordinal));
        if (settings.ModelName is { } only)
        {
            manifests = [.. manifests.Where(m => m.Name == only)];
            unloadable = [.. unloadable.Where(u => u.Name == only)];
            if (manifests.Count == 0 && unloadable.Count == 0)
            {
                throw ServerlessSettings.Invalid("MODEL_NAME", only, $"one of the models in the catalog: {available}");
            }
        }

        foreach (var name in settings.Preload)
        {
            if (!available.Split(", ").Contains(name, StringComparer.Ordinal))
            {
                throw ServerlessSettings.Invalid("MODEL_PRELOAD", string.Join(',', settings.Preload), $"names from the catalog ({available}); '{name}' is not one");
            }
        }

        var integrity = new IntegrityEvents(options.Logger);
        VerifiedModelCache.RemoveOrphans(settings.CacheDirectory, integrity); // optimized graphs included: they live under it

        var cache = new VerifiedModelCache(store, settings.CacheDirectory, integrity);
        var registry = new ModelRegistry(manifests, options.WrapArtifactSource?.Invoke(cache) ?? cache, factory, new ModelRegistryOptions
        {
            MemoryBudgetBytes = settings.MemoryBudgetBytes,
            SessionSettings = options.SessionSettings,
            TimeProvider = options.TimeProvider,
            OptimizedGraphs = settings.GraphCache ? new OptimizedGraphCache(settings.OptimizedGraphDirectory, integrity) : null,
            Integrity = integrity,
            Preload = settings.ShouldPreload,
        });
        return new ModelServices(settings, store, cache, registry, unloadable, skipped, integrity);
    }

    /// <summary>
    /// The models MODEL_PRELOAD names (among those served). '*' means every model that can load: an unloadable
    /// file in a bare .onnx folder is preloaded (and holds readiness back) only when named.
    /// </summary>
    public IReadOnlyList<string> PreloadNames =>
        [.. Repository.Manifests.Select(m => m.Name)
            .Where(name => Registry.Find(name) is not null ? Settings.ShouldPreload(name) : Settings.Preload.Contains(name, StringComparer.Ordinal))];

    /// <summary>
    /// Loads the MODEL_PRELOAD models, in parallel, and returns their statuses. A failure does not throw: the
    /// model is left FAILED with its reason and a later request retries, so one bad model cannot stop a host.
    /// </summary>
    public async Task<IReadOnlyList<ModelStatus>> PreloadAsync(CancellationToken cancellationToken = default)
    {
        var names = PreloadNames;
        await Task.WhenAll(names.Select(async name =>
        {
            try
            {
                await Repository.LoadAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (InferenceException)
            {
                // Recorded in the registry as FAILED with the reason; reported through the statuses below.
            }
        })).ConfigureAwait(false);
        return [.. names.Select(n => Repository.GetStatus(n))];
    }

    public void Dispose()
    {
        Registry.Dispose();
        Integrity.Dispose();
    }
}

/// <summary>Host-specific choices for <see cref="ModelServices.CreateAsync"/>.</summary>
public sealed record ModelServicesOptions
{
    public SessionSettings SessionSettings { get; init; } = SessionSettings.Default;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where integrity failures are logged (source-generated messages, event ids 2001-2099); null for nowhere.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Wraps the verified cache (metrics, tests counting downloads); null for none.</summary>
    public Func<IModelArtifactSource, IModelArtifactSource>? WrapArtifactSource { get; init; }
}
