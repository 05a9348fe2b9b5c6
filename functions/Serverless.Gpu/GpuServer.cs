using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Inference;
using Serverless.Core.Inference.Batching;
using Serverless.Core.Models;
using Serverless.Core.Observability;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Gpu.Hosting;
using Serverless.Gpu.Models;
using Serverless.Gpu.Observability;
using Serverless.Storage.S3;
using Serverless.Hosting.AspNetCore;

namespace Serverless.Gpu;

/// <summary>
/// The GPU server: a minimal-API <see cref="WebApplication"/> whose routes are the core protocol handler's
/// (one catch-all endpoint through <see cref="KestrelProtocolAdapter"/>), plus readiness that turns 503 while
/// draining, the stats extension and the execution providers in <c>GET /v2</c>. Models come from the same
/// <see cref="ModelServices"/> as every host, behind a MODEL_NAMES filter and the dynamic batcher.
/// </summary>
public sealed partial class GpuServer : IAsyncDisposable
{
    private static readonly ReadOnlyMemory<byte> DrainingReply =
        "{\"ready\":false,\"error\":\"The server is draining for shutdown; send requests to another instance.\"}"u8.ToArray();

    private readonly WebApplication _app;
    private readonly ModelServices _services;
    private readonly MeterProvider? _meterProvider;
    private readonly DrainState _drain;

    private GpuServer(WebApplication app, ModelServices services, BatchingModelRepository repository, GpuMetrics metrics, MeterProvider? meterProvider, DrainState drain, Uri baseAddress)
    {
        _app = app;
        _services = services;
        Repository = repository;
        Metrics = metrics;
        _meterProvider = meterProvider;
        _drain = drain;
        BaseAddress = baseAddress;
    }

    /// <summary>The first bound address, with the real port when 0 was asked for.</summary>
    public Uri BaseAddress { get; }

    public BatchingModelRepository Repository { get; }

    public GpuMetrics Metrics { get; }

    public bool IsDraining => _drain.IsDraining;

    /// <summary>The execution provider this server's sessions get, found at start-up by <see cref="CudaProbe"/>.</summary>
    public string ExecutionProvider { get; private init; } = OnnxSessionBuilderNames.Cpu;

    /// <summary>Fires when the host begins to stop (SIGTERM, <see cref="StopAsync"/>).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>
    /// Finds the execution provider (fatal without CUDA when <see cref="GpuServerOptions.RequireCuda"/>), builds the
    /// model services, starts listening and preloads MODEL_PRELOAD models (failures stay FAILED and are retried by requests).
    /// </summary>
    public static async Task<GpuServer> StartAsync(GpuServerOptions options, ILoggerProvider? extraLogs = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (provider, fallbackReason) = options.PreferCuda
            ? CudaProbe.Run(options.SessionFactory, options.PreferCuda && options.RequireCuda)
            : (OnnxSessionBuilderNames.Cpu, null);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "serverless-gpu" });
        builder.WebHost.UseUrls(options.Urls).ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // the protocol handler enforces its own limit while streaming (413)
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        if (extraLogs is not null)
        {
            builder.Logging.AddProvider(extraLogs);
        }

        builder.Services.AddSingleton(sp => new DrainState(options.DrainDelay, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Serverless.Gpu")));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DrainState>());
        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Serverless.Gpu");
        var metrics = new GpuMetrics();
        MeterProvider? meterProvider = null;
        ModelServices? services = null;
        try
        {
            var factory = new ExecutionProviderFactory(options.SessionFactory, logger, options.PreferCuda && options.RequireCuda);
            var resolver = S3ObjectStore.Register(new ObjectStoreResolver(Directory.GetCurrentDirectory()));
            services = await ModelServices.CreateAsync(options.Settings, factory, resolver,
                new ModelServicesOptions { SessionSettings = SessionSettings.Default with { PreferCuda = options.PreferCuda }, Logger = logger }, cancellationToken).ConfigureAwait(false);
            IModelRepository served = options.ModelNames.Count > 0 ? new ServedModelsRepository(services.Repository, options.ModelNames) : services.Repository;
            var batching = options.Batching with { Observer = metrics };
            var repository = new BatchingModelRepository(served, batching);
            var preload = repository.Manifests.Select(m => m.Name).Where(options.Settings.ShouldPreload).ToArray();
            var handler = new ProtocolHandler(repository, new ProtocolOptions
            {
                ServerName = "serverless-gpu",
                OnUnexpectedError = ex => LogUnexpected(logger, ex),
            });

            var drain = app.Services.GetRequiredService<DrainState>();
            var protocol = new KestrelProtocolAdapter(handler);
            var stats = new ModelStatsEndpoint(protocol, repository, batching, options.PreferCuda, options.PreferCuda && options.RequireCuda, provider);
            MapEndpoints(app, protocol, stats, drain, metrics);
            if (options.OtlpEndpoint is not null)
            {
                // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT/PROTOCOL/HEADERS itself.
                meterProvider = Sdk.CreateMeterProviderBuilder().AddMeter(GpuMetrics.MeterName, IntegrityEvents.MeterName).AddOtlpExporter().Build();
            }

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Urls.Split(';')[0];
            var server = new GpuServer(app, services, repository, metrics, meterProvider, drain, new Uri(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "localhost", StringComparison.Ordinal)))
            {
                ExecutionProvider = provider,
            };
            LogListening(logger, string.Join(", ", repository.Manifests.Select(m => m.Name)), bound, provider, fallbackReason ?? "none");
            foreach (var name in preload)
            {
                try
                {
                    await repository.LoadAsync(name, cancellationToken).ConfigureAwait(false);
                }
                catch (InferenceException ex)
                {
                    LogPreloadFailed(logger, name, ex.Message);
                }
            }

            return server;
        }
        catch
        {
            meterProvider?.Dispose();
            metrics.Dispose();
            services?.Dispose();
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops as SIGTERM does: readiness 503 for the drain delay, then no new connections, then in-flight requests finish.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Waits until the host has stopped (SIGTERM or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _meterProvider?.Dispose();
        Metrics.Dispose();
        _services.Dispose();
    }

    private static void MapEndpoints(WebApplication app, KestrelProtocolAdapter protocol, ModelStatsEndpoint stats, DrainState drain, GpuMetrics metrics)
    {
        app.MapGet("/v2/health/ready", async context =>
        {
            if (drain.IsDraining)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = ProtocolContentTypes.Json;
                await context.Response.Body.WriteAsync(DrainingReply, context.RequestAborted).ConfigureAwait(false);
                return;
            }

            await protocol.HandleAsync(context).ConfigureAwait(false);
        });
        app.MapGet("/v2", stats.ServerMetadataAsync);
        app.MapGet("/v2/models/{model}/stats", (HttpContext context, string model) => stats.ModelStatsAsync(context, model));
        app.Map("/{**path}", async context =>
        {
            await protocol.HandleAsync(context).ConfigureAwait(false);
            if (InferModel(context.Request) is { } model)
            {
                metrics.RecordRequest(model, context.Response.StatusCode);
            }
        });
    }

    /// <summary>The model of a POST .../infer path, for metric tags; null for every other request.</summary>
    private static string? InferModel(HttpRequest request)
    {
        var path = request.Path.Value;
        if (!HttpMethods.IsPost(request.Method) || path is null || !path.StartsWith("/v2/models/", StringComparison.Ordinal) || !path.EndsWith("/infer", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path.AsSpan("/v2/models/".Length);
        var slash = rest.IndexOf('/');
        return slash > 0 ? rest[..slash].ToString() : null;
    }
}
