using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Azure.Batch;
using Serverless.Azure.Invocation;
using Serverless.Hosting.AspNetCore;
using Serverless.Core.Batch;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Storage.AzureBlob;

namespace Serverless.Azure.Hosting;

/// <summary>
/// The custom handler process: Kestrel on 127.0.0.1:FUNCTIONS_CUSTOMHANDLER_PORT in front of the same
/// composition every host uses (<see cref="ModelServices"/>, <see cref="ProtocolHandler"/>, <see cref="BatchScorer"/>).
/// Forwarded HTTP requests (paths under /v2) go to the protocol handler unchanged; POST /{function} is a
/// non-HTTP invocation. Models named by MODEL_PRELOAD load before the port opens, so the host's first
/// request finds them ready.
/// </summary>
internal sealed partial class AzureHandlerHost : IAsyncDisposable
{
    public const string PortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";
    public const string TimeLimitVariable = "BATCH_TIME_LIMIT_SECONDS";

    private readonly WebApplication _app;
    private readonly ModelServices _services;

    private AzureHandlerHost(WebApplication app, ModelServices services, int port)
    {
        _app = app;
        _services = services;
        Port = port;
    }

    public int Port { get; }

    public static async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        AzureHandlerHost host;
        try
        {
            host = await StartAsync(AzureEnvironment.System, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException ex)
        {
            // Written to stderr, which the Functions host copies into the app's logs: the start-up failure is visible there.
            await Console.Error.WriteLineAsync($"serverless-azure: cannot start: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (host.ConfigureAwait(false))
        {
            await host._app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }

        return 0;
    }

    public static async Task<AzureHandlerHost> StartAsync(IEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var port = ParsePort(environment.GetVariable(PortVariable));
        var timeLimit = ParseTimeLimit(environment.GetVariable(TimeLimitVariable));
        var settings = ServerlessSettings.FromEnvironment(environment);
        var resolver = AzureBlobObjectStore.Register(new ObjectStoreResolver(environment.CurrentDirectory), environment.GetVariable);
        // The app (and its logger) is built first, so integrity failures during the preload are logged too;
        // Kestrel starts listening only once the models are ready below.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "serverless-azure" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // the protocol handler enforces its own limit and answers 413
            kestrel.Listen(IPAddress.Loopback, port);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("serverless-azure");
        ModelServices services;
        try
        {
            services = await ModelServices.CreateAsync(settings, OnnxSessionFactory.Instance, resolver, new ModelServicesOptions { Logger = logger }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        try
        {
            await services.PreloadAsync(cancellationToken).ConfigureAwait(false);
            var protocol = new ProtocolHandler(services.Repository, new ProtocolOptions
            {
                ServedModel = settings.ModelName,
                ServerName = "serverless-azure",
            });
            var models = services.Repository.Manifests.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
            var scorer = new BatchScorer(services.Repository, BatchOptions.FromEnvironment(environment.GetVariable));
            var batch = new BlobCreatedBatchHandler(scorer, root => AzureBlobStoreFactory.Create(root, environment.GetVariable), models, timeLimit);
            var invocations = new InvocationEndpoint(batch, models);
            var adapter = new KestrelProtocolAdapter(protocol);
            app.Run(context => RouteAsync(context, adapter, invocations, logger));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            LogListening(logger, port, models.Count, services.Store.Root);
            return new AzureHandlerHost(app, services, port);
        }
        catch
        {
            services.Dispose();
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _services.Dispose();
    }

    /// <summary>
    /// /v2 and below: a forwarded HTTP trigger (routePrefix is empty, so the public path arrives unchanged).
    /// POST /{name} with one segment: a non-HTTP invocation. Anything else is 404 in the protocol's error shape.
    /// </summary>
    private static async Task RouteAsync(HttpContext context, KestrelProtocolAdapter adapter, InvocationEndpoint invocations, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        var path = context.Request.Path.Value ?? "/";
        if (path == "/v2" || path.StartsWith("/v2/", StringComparison.Ordinal))
        {
            await adapter.HandleAsync(context).ConfigureAwait(false);
        }
        else if (HttpMethods.IsPost(context.Request.Method) && path.Length > 1 && path.IndexOf('/', 1) < 0)
        {
            await invocations.HandleAsync(context, path[1..]).ConfigureAwait(false);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"error\":\"Not found: HTTP routes live under /v2/ (e.g. POST /v2/models/<model>/infer) and invocations are POST /<function>.\"}", context.RequestAborted).ConfigureAwait(false);
        }

        LogRequest(logger, context.Request.Method, path, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static int ParsePort(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InferenceException(ErrorCode.InvalidInput,
                $"{PortVariable} is not set. The Functions host sets it when it starts a custom handler; to run by hand, set it to a free port, e.g. {PortVariable}=7071.");
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new InferenceException(ErrorCode.InvalidInput, $"{PortVariable}='{text}' is not a TCP port (1-65535).");
    }

    // The default leaves a minute of host.json's 10-minute functionTimeout for checkpointing and the reply.
    private static TimeSpan ParseTimeLimit(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return TimeSpan.FromSeconds(540);
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : throw new InferenceException(ErrorCode.InvalidInput, $"{TimeLimitVariable}='{text}' is not a whole number of seconds above 0; set it a little under host.json's functionTimeout.");
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listening on 127.0.0.1:{Port} for the Functions host; {Models} models from {Store}")]
    private static partial void LogListening(ILogger logger, int port, int models, string store);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Method} {Path} -> {Status} in {Milliseconds:F1} ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, double milliseconds);
}
