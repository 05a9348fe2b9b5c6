using Serverless.Core.Hosting;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;

namespace Serverless.Cli.Hosting;

/// <summary>
/// What every CLI command serves from: settings (the environment with --models/--store laid over it),
/// <see cref="ModelServices"/> over the real ONNX Runtime binding, and the protocol handler. The same
/// composition as the Lambda and Azure hosts; only the transport in front differs.
/// </summary>
internal sealed class ServingComponents : IAsyncDisposable
{
    private readonly IDisposable _owned;

    private ServingComponents(IModelRepository repository, ProtocolHandler handler, IObjectStore store, string source, IDisposable owned)
    {
        Repository = repository;
        Handler = handler;
        Store = store;
        Source = source;
        _owned = owned;
    }

    public IModelRepository Repository { get; }

    public ProtocolHandler Handler { get; }

    /// <summary>The store artifacts are read from.</summary>
    public IObjectStore Store { get; }

    /// <summary>Where the models came from, for messages ("models folder X, store Y").</summary>
    public string Source { get; }

    public const string PreloadVariable = "MODEL_PRELOAD";

    /// <summary>Settings for <paramref name="options"/>: the process environment with --models and --store on top.</summary>
    public static ServerlessSettings Settings(ServeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var environment = new OverridingEnvironment(SystemEnvironment.Instance,
        [
            new(Commands.CommonOptions.ModelsDirVariable, options.ModelsDir),
            new(Commands.CommonOptions.ModelStoreVariable, options.Store),
            new(PreloadVariable, options.Preload),
        ], options.WorkingDirectory);
        return ServerlessSettings.FromEnvironment(environment);
    }

    /// <param name="logger">Where integrity failures are logged (the serve log); null for nowhere.</param>
    public static async Task<ServingComponents> CreateAsync(ServeOptions options, CancellationToken cancellationToken, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var settings = Settings(options);
        var factory = SessionFactory(out var traceArtifacts);
        var wrap = (options.WrapArtifactSource, traceArtifacts) switch
        {
            (null, var trace) => trace,
            (var test, null) => test,
            (var test, var trace) => source => trace(test(source)),
        };
        var services = await ModelServices.CreateAsync(settings, factory, StoreResolver.Create(options.WorkingDirectory), new ModelServicesOptions { WrapArtifactSource = wrap, Logger = logger }, cancellationToken).ConfigureAwait(false);
        try
        {
            var handler = new ProtocolHandler(services.Repository, ProtocolOptionsFor(options, services));
            var source = settings.ModelsDirectory is { } folder ? $"{folder} (store {services.Store.Root})" : $"store {services.Store.Root}";
            return new ServingComponents(services.Repository, handler, services.Store, source, services);
        }
        catch
        {
            services.Dispose();
            throw;
        }
    }

    /// <summary>The real session factory; with the start-up trace on, wrapped so model loads print their phases.</summary>
    private static IInferenceSessionFactory SessionFactory(out Func<IModelArtifactSource, IModelArtifactSource>? wrapArtifacts)
    {
        if (!StartupTrace.Enabled)
        {
            wrapArtifacts = null;
            return OnnxSessionFactory.Instance;
        }

        var tracing = new TracingModelLoads(OnnxSessionFactory.Instance);
        wrapArtifacts = tracing.Over;
        return tracing;
    }

    /// <summary>Serves one .onnx file under its file name, with a manifest derived from the model itself.</summary>
    public static async Task<ServingComponents> CreateForFileAsync(string onnxPath, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(onnxPath)!;
        var settings = Settings(new ServeOptions());
        var manifest = await DerivedManifest.FromFileAsync(onnxPath, OnnxSessionFactory.Instance, SessionSettings.Default, cancellationToken).ConfigureAwait(false);
        var store = new LocalObjectStore(folder);
        var registry = new ModelRegistry([manifest], new VerifiedModelCache(store, settings.CacheDirectory), OnnxSessionFactory.Instance,
            new ModelRegistryOptions { MemoryBudgetBytes = settings.MemoryBudgetBytes });
        return new ServingComponents(registry, new ProtocolHandler(registry), store, onnxPath, registry);
    }

    /// <summary>"present", "missing" or "size differs" for a version's artifact in the store.</summary>
    public async Task<string> ArtifactStateAsync(ModelVersionManifest version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        var properties = await Store.GetPropertiesAsync(version.Artifact, cancellationToken).ConfigureAwait(false);
        return properties is null ? "missing" : properties.Size == version.Size ? "present" : $"size differs ({properties.Size} B)";
    }

    /// <summary>Files of a bare .onnx folder that cannot be loaded: listed, and answered with their error.</summary>
    public IReadOnlyList<UnloadableModel> Unloadable => _owned is ModelServices services ? services.Unloadable : [];

    /// <summary>Files of a bare .onnx folder whose names cannot be model names: not served.</summary>
    public IReadOnlyList<SkippedModelFile> Skipped => _owned is ModelServices services ? services.Skipped : [];

    /// <summary>The models MODEL_PRELOAD names among those served (none for a single file).</summary>
    public IReadOnlyList<string> PreloadNames => _owned is ModelServices services ? services.PreloadNames : [];

    /// <summary>Loads the MODEL_PRELOAD models (see <see cref="ModelServices.PreloadAsync"/>): failures are left in the registry, never thrown.</summary>
    public Task<IReadOnlyList<ModelStatus>> PreloadAsync(CancellationToken cancellationToken) =>
        _owned is ModelServices services ? services.PreloadAsync(cancellationToken) : Task.FromResult<IReadOnlyList<ModelStatus>>([]);

    public ValueTask DisposeAsync()
    {
        _owned.Dispose();
        return ValueTask.CompletedTask;
    }

    private static ProtocolOptions ProtocolOptionsFor(ServeOptions options, ModelServices services) => new()
    {
        MaxRequestBytes = options.RequestLimitBytes,
        OnUnexpectedError = options.OnUnexpectedError,
        ServedModel = services.Settings.ModelName,
    };
}
