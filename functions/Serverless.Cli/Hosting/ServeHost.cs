using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Cli.Commands;
using Serverless.Core.Models;
using Serverless.Hosting.AspNetCore;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The <c>serve</c> host: an empty <see cref="WebApplication"/> (Kestrel core only, no routing, MVC or
/// config providers, to keep start-up short) whose single request delegate is the
/// <see cref="KestrelProtocolAdapter"/>. Kestrel's own body-size limit is off because the protocol handler
/// enforces its limit while streaming and answers 413 itself.
/// </summary>
internal sealed partial class ServeHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServingComponents _components;
    private readonly IPAddress _boundAddress;

    private ServeHost(WebApplication app, ServingComponents components, IPAddress boundAddress, Uri baseAddress)
    {
        _app = app;
        _components = components;
        _boundAddress = boundAddress;
        BaseAddress = baseAddress;
    }

    /// <summary>The address actually bound (with the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    public IModelRepository Repository => _components.Repository;

    /// <summary>Runs <c>serve</c> until <paramref name="cancellationToken"/> fires (Ctrl+C / SIGTERM), then drains.</summary>
    public static async Task<int> RunAsync(ServeOptions options, CliConsole console, CancellationToken cancellationToken)
    {
        var host = await StartAsync(options, console, cancellationToken).ConfigureAwait(false);
        await using (host.ConfigureAwait(false))
        {
            await host.PrintBannerAsync(console).ConfigureAwait(false);

            // Either the command line's token (Ctrl+C/SIGTERM seen by System.CommandLine) or the host's own
            // console lifetime (which also listens for SIGTERM) ends the wait; both lead to the same drain.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, host._app.Lifetime.ApplicationStopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await console.Output.WriteLineAsync("Shutting down: finishing in-flight requests.").ConfigureAwait(false);
            }
        }

        await console.Output.WriteLineAsync("Stopped.").ConfigureAwait(false);

        return ExitCodes.Success;
    }

    /// <summary>Builds and starts the server; the caller disposes it to stop. Used by tests in-process.</summary>
    public static async Task<ServeHost> StartAsync(ServeOptions options, CliConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = ParseHost(options.Host);
        var components = await ServingComponents.CreateAsync(options, cancellationToken).ConfigureAwait(false);
        try
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "serverless" });
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Limits.MaxRequestBodySize = null;
                kestrel.Listen(address, options.Port);
            });
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
            builder.Logging.SetMinimumLevel(options.Verbose ? LogLevel.Debug : LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", options.Verbose ? LogLevel.Information : LogLevel.Warning);

            // A failed start is reported once, as a human line, by the command; the host's own log of it
            // carries a stack trace, which only --verbose should show.
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting", options.Verbose ? LogLevel.Information : LogLevel.None);

            var app = builder.Build();
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("serverless");
            var adapter = new KestrelProtocolAdapter(components.Handler);
            app.Run(context => HandleWithLogAsync(adapter, context, logger));

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? $"http://{options.Host}:{options.Port}";
            return new ServeHost(app, components, address, new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal)));
        }
        catch (IOException ex)
        {
            await components.DisposeAsync().ConfigureAwait(false);
            throw new CliUsageException($"Cannot listen on {options.Host}:{options.Port}: {ex.Message} Pick another port with --port (0 picks a free one).", ex);
        }
        catch
        {
            await components.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _components.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One line per model with its state and URL, then the address; tests wait for "Listening on".</summary>
    public async Task PrintBannerAsync(CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var root = BaseAddress.ToString().TrimEnd('/');
        var repository = _components.Repository;
        await console.Output.WriteLineAsync($"Serving {repository.Manifests.Count} model(s) from {_components.Source}").ConfigureAwait(false);
        var width = repository.Manifests.Count == 0 ? 0 : repository.Manifests.Max(m => m.Name.Length);
        foreach (var manifest in repository.Manifests)
        {
            var status = repository.GetStatus(manifest.Name);
            await console.Output.WriteLineAsync(
                $"  {manifest.Name.PadRight(width)}  v{status.Version}  {status.StateText,-11}  POST {root}/v2/models/{manifest.Name}/infer").ConfigureAwait(false);
        }

        if (repository.Manifests.Count == 0)
        {
            await console.Output.WriteLineAsync($"  (no models found in {_components.Source})").ConfigureAwait(false);
        }

        await console.Output.WriteLineAsync($"Listening on {root} (models load on first use; Ctrl+C stops)").ConfigureAwait(false);
        if (!IPAddress.IsLoopback(_boundAddress))
        {
            await console.Output.WriteLineAsync($"Warning: bound to {_boundAddress}, not loopback: anyone who can reach this machine can call the models (there is no authentication).").ConfigureAwait(false);
        }
        await console.Output.FlushAsync().ConfigureAwait(false);
    }

    private static async Task HandleWithLogAsync(KestrelProtocolAdapter adapter, HttpContext context, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        await adapter.HandleAsync(context).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            LogRequest(logger, context.Request.Method, context.Request.Path.Value ?? "/", context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private static IPAddress ParseHost(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(host, out var address)
            ? address
            : throw new CliUsageException($"--host '{host}' is not an IP address: use 127.0.0.1 (default, this machine only), 0.0.0.0 (all interfaces) or another local address.");
    }
}
