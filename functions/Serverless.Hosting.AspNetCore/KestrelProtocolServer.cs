using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Hosting.AspNetCore;

/// <summary>
/// Kestrel on its own, without the generic host or <c>WebApplication</c>: a <see cref="KestrelServer"/> over
/// the socket transport whose whole application is one <see cref="RequestDelegate"/>. No dependency
/// injection container, configuration providers, hosting diagnostics or middleware pipeline are built, which
/// is most of what a <c>WebApplication</c> spends before it accepts its first connection. Each request gets
/// a <see cref="DefaultHttpContext"/>, reused across the requests of one connection as the generic host does.
/// Kestrel's own log messages go to the given <see cref="ILoggerFactory"/>.
/// </summary>
public sealed class KestrelProtocolServer : IAsyncDisposable
{
    private readonly KestrelServer _server;
    private int _stopped;

    private KestrelProtocolServer(KestrelServer server, IReadOnlyList<Uri> addresses)
    {
        _server = server;
        Addresses = addresses;
    }

    /// <summary>The addresses bound, with the real port when 0 was asked for.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>
    /// Binds <paramref name="endpoint"/> and starts accepting, with the default <see cref="KestrelEdgeLimits"/>
    /// and no request-body limit (the application enforces its own). No Server header is sent.
    /// </summary>
    public static Task<KestrelProtocolServer> StartAsync(IPEndPoint endpoint, RequestDelegate application, ILoggerFactory loggerFactory, CancellationToken cancellationToken) =>
        StartAsync(endpoint, application, new KestrelEdgeLimits(), loggerFactory, cancellationToken);

    /// <summary>
    /// Binds <paramref name="endpoint"/> and starts accepting under <paramref name="limits"/>. Binding failures
    /// surface as Kestrel reports them (an <see cref="IOException"/> for an address in use). No Server header is sent.
    /// </summary>
    public static async Task<KestrelProtocolServer> StartAsync(IPEndPoint endpoint, RequestDelegate application, KestrelEdgeLimits limits, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(application);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = EmptyServices.Instance,
        };
        limits.ApplyTo(options);
        options.Listen(endpoint);
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggerFactory);
        var server = new KestrelServer(Options.Create(options), transport, loggerFactory);
        try
        {
            await server.StartAsync(new Application(application), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            server.Dispose();
            throw;
        }

        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses
            .Select(a => new Uri(a.Replace("[::]", "localhost", StringComparison.Ordinal)))
            .ToArray() ?? [];
        return new KestrelProtocolServer(server, addresses);
    }

    /// <summary>Stops accepting, lets in-flight requests finish within <paramref name="drain"/>, then closes what is left.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(drain);
        await _server.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _server.Dispose();
    }

    /// <summary>The one application: a pooled <see cref="DefaultHttpContext"/> handed to the request delegate.</summary>
    private sealed class Application(RequestDelegate handler) : IHttpApplication<DefaultHttpContext>
    {
        public DefaultHttpContext CreateContext(IFeatureCollection contextFeatures)
        {
            if (contextFeatures is IHostContextContainer<DefaultHttpContext> container)
            {
                if (container.HostContext is { } reused)
                {
                    reused.Initialize(contextFeatures);
                    return reused;
                }

                var created = new DefaultHttpContext(contextFeatures);
                container.HostContext = created;
                return created;
            }

            return new DefaultHttpContext(contextFeatures);
        }

        public Task ProcessRequestAsync(DefaultHttpContext context) => handler(context);

        public void DisposeContext(DefaultHttpContext context, Exception? exception) => context.Uninitialize();
    }

    /// <summary>Kestrel asks its options for services only for features this server does not use (HTTPS, named endpoints).</summary>
    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
