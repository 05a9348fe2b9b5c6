using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Core.Batch;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Hosting.AspNetCore;
using Serverless.Storage.AzureBlob;

namespace Serverless.Azure.Hosting;

/// <summary>
/// The model side of the function app, built once per worker process with the same composition every host
/// uses (<see cref="ModelServices"/>, <see cref="ProtocolHandler"/>, <see cref="BatchScorer"/>). It starts when
/// the worker starts (as a hosted service) without holding up the worker's handshake with the Functions host:
/// the catalog read and MODEL_PRELOAD run alongside it, and the first invocation awaits <see cref="ReadyAsync"/>.
/// A configuration error is kept and reported by every invocation, so it shows in each function's log.
/// </summary>
public sealed partial class AzureModelHost : IHostedService, IAsyncDisposable
{
    private readonly IEnvironment _environment;
    private readonly ILogger<AzureModelHost> _logger;
    private readonly Lazy<Task<AzureModels>> _ready;

    internal AzureModelHost(IEnvironment environment, ILogger<AzureModelHost> logger)
    {
        _environment = environment ?? throw new ArgumentNullException(nameof(environment));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _ready = new Lazy<Task<AzureModels>>(() => Task.Run(BuildAsync), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The models, protocol handler and scorer; throws the start-up error when configuration is wrong.</summary>
    public Task<AzureModels> ReadyAsync(CancellationToken cancellationToken) => _ready.Value.WaitAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = _ready.Value; // started, not awaited: the worker's gRPC handshake goes on meanwhile
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_ready.IsValueCreated && await _ready.Value.ContinueWith(t => t, TaskScheduler.Default).ConfigureAwait(false) is { IsCompletedSuccessfully: true } done)
        {
            done.Result.Dispose();
        }
    }

    private async Task<AzureModels> BuildAsync()
    {
        try
        {
            var settings = ServerlessSettings.FromEnvironment(_environment);
            var resolver = AzureBlobObjectStore.Register(new ObjectStoreResolver(_environment.CurrentDirectory), _environment.GetVariable);
            var services = await ModelServices.CreateAsync(settings, OnnxSessionFactory.Instance, resolver, new ModelServicesOptions { Logger = _logger }).ConfigureAwait(false);
            try
            {
                await services.PreloadAsync().ConfigureAwait(false);
                var protocol = new ProtocolHandler(services.Repository, new ProtocolOptions
                {
                    ServedModel = settings.ModelName,
                    ServerName = "serverless-azure",
                    OnUnexpectedError = ex => LogUnexpected(_logger, ex),
                });
                var scorer = new BatchScorer(services.Repository, BatchOptions.FromEnvironment(_environment.GetVariable));
                var models = new AzureModels(services, new KestrelProtocolAdapter(protocol), scorer);
                LogReady(_logger, services.Registry.Manifests.Count, services.Store.Root, settings.ModelName ?? "all");
                return models;
            }
            catch
            {
                services.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is InferenceException or ArgumentException)
        {
            LogCannotStart(_logger, ex.Message);
            throw new InferenceException(ErrorCode.InvalidInput, $"serverless-azure cannot start: {ex.Message}", ex);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Serving {Models} models from {Store} (MODEL_NAME: {Served})")]
    private static partial void LogReady(ILogger logger, int models, string store, string served);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "serverless-azure cannot start: {Reason}")]
    private static partial void LogCannotStart(ILogger logger, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Unexpected error answered with 500")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}

/// <summary>What <see cref="AzureModelHost"/> builds: the model services and the two entry points over them.</summary>
public sealed class AzureModels : IDisposable
{
    internal AzureModels(ModelServices services, KestrelProtocolAdapter adapter, BatchScorer scorer)
    {
        Services = services;
        Adapter = adapter;
        Scorer = scorer;
    }

    public ModelServices Services { get; }

    public KestrelProtocolAdapter Adapter { get; }

    public BatchScorer Scorer { get; }

    public void Dispose() => Services.Dispose();
}
