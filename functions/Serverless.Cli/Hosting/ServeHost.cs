using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Serverless.Cli.Commands;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The <c>serve</c> host: the protocol handler behind its HTTP edge (<see cref="ServeEdge"/>: Kestrel alone). Start-up does
/// three things at once, because none needs another: reading the catalog (<see cref="ServingComponents"/>),
/// binding the listener, and loading
/// ONNX Runtime's native library. The start still fails as a whole, with the catalog's error first, before
/// the "Listening on" line. Models named in MODEL_PRELOAD load in the background once the server listens;
/// requests for them join that load, and their readiness says false until it is done.
/// </summary>
internal sealed partial class ServeHost : IAsyncDisposable
{
    /// <summary>How long in-flight requests get to finish on shutdown.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    private readonly ServeEdge _server;
    private readonly ServingComponents _components;
    private readonly ServeLog _log;
    private readonly IPAddress _boundAddress;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _runtime;

    private ServeHost(ServeEdge server, ServingComponents components, ServeLog log, IPAddress boundAddress, Uri baseAddress, Task runtime)
    {
        _runtime = runtime;
        _server = server;
        _components = components;
        _log = log;
        _boundAddress = boundAddress;
        BaseAddress = baseAddress;
    }

    /// <summary>The address actually bound (with the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    public IModelRepository Repository => _components.Repository;

    /// <summary>The background MODEL_PRELOAD load (statuses once every named model loaded or failed); completed when none are named.</summary>
    public Task<IReadOnlyList<ModelStatus>> Preload { get; private set; } = Task.FromResult<IReadOnlyList<ModelStatus>>([]);

    /// <summary>Runs <c>serve</c> until <paramref name="cancellationToken"/> fires (Ctrl+C / SIGTERM), then drains.</summary>
    public static async Task<int> RunAsync(ServeOptions options, CliConsole console, CancellationToken cancellationToken)
    {
        var host = await StartAsync(options, console, cancellationToken).ConfigureAwait(false);
        await using (host.ConfigureAwait(false))
        {
            await host.PrintBannerAsync(console).ConfigureAwait(false);
            StartupTrace.Mark("banner printed");

            // The command line's token (Ctrl+C, or SIGTERM seen by System.CommandLine) or our own SIGTERM and
            // SIGQUIT registrations end the wait; both lead to the same drain and a zero exit code.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, host._stopping.Token);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, host.OnSignal);
            using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, host.OnSignal);
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
        ArgumentNullException.ThrowIfNull(console);
        var address = ParseHost(options.Host);

        // dlopen of the 45 MB library and the OrtEnv, off the critical path. A failure is not reported here:
        // the first session creation retries and throws the same clear message as without this. Every way out
        // of serve waits for it (WhenNativeLoadsDoneAsync): a process that exits while another thread is inside
        // dlopen or OpenSSL's initialization runs their exit handlers over half-built state (SIGSEGV, exit 139).
        var runtime = Task.Run(LoadRuntimeQuietly, CancellationToken.None);
        var log = new ServeLog(console.Output, options.Verbose, options.LogLevel);
        var logger = log.CreateLogger("serverless");
        options = options with { OnUnexpectedError = options.OnUnexpectedError ?? (ex => ServeEdge.LogHandlerFailed(logger, ex)) };
        var componentsTask = Task.Run(() => ServingComponents.CreateAsync(options, cancellationToken, logger), cancellationToken);

        var handler = componentsTask.ContinueWith(
            static t => t.Result.Handler, CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        ServeEdge? server = null;
        Exception? bindFailure = null;
        try
        {
            var limits = ServeEdge.Limits(options.RequestLimitBytes);
            server = await ServeEdge.StartAsync(new IPEndPoint(address, options.Port), limits, handler, log, logger, cancellationToken).ConfigureAwait(false);
            StartupTrace.Mark($"{server.Name} listening");
        }
#pragma warning disable CA1031 // Held until the catalog's outcome is known, then rethrown (IOException as a usage error).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            bindFailure = ex;
        }

        ServingComponents components;
        try
        {
            components = await componentsTask.ConfigureAwait(false);
            StartupTrace.Mark("serving components created (catalog read)");
        }
        catch
        {
            // The catalog's error is the one to report, as when the two ran one after the other.
            await DisposeQuietlyAsync(server).ConfigureAwait(false);
            await log.DisposeAsync().ConfigureAwait(false);
            await WhenNativeLoadsDoneAsync(runtime).ConfigureAwait(false);
            throw;
        }

        if (bindFailure is not null || server is null)
        {
            await components.DisposeAsync().ConfigureAwait(false);
            await log.DisposeAsync().ConfigureAwait(false);
            await WhenNativeLoadsDoneAsync(runtime).ConfigureAwait(false);
            if (bindFailure is IOException io)
            {
                throw new CliUsageException($"Cannot listen on {options.Host}:{options.Port}: {io.Message} Pick another port with --port (0 picks a free one).", io);
            }

            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(bindFailure ?? new InvalidOperationException("The HTTP server did not start."));
        }

        var host = new ServeHost(server, components, log, address, server.BaseAddress, runtime);
        host.Preload = host.StartPreload(logger);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync(DrainTimeout).ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
        await _components.DisposeAsync().ConfigureAwait(false);
        try
        {
            await Preload.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException or InferenceException)
        {
            // A preload cut short by the shutdown; nothing is left to report.
        }

        await _log.DisposeAsync().ConfigureAwait(false);
        await WhenNativeLoadsDoneAsync(_runtime).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>
    /// One line per model with its state and URL (or, for a file that cannot be loaded, why), the files skipped for
    /// their names, then the address; tests wait for "Listening on". Having nothing to serve is a warning on stderr.
    /// </summary>
    public async Task PrintBannerAsync(CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var root = BaseAddress.ToString().TrimEnd('/');
        var repository = _components.Repository;
        var unloadable = _components.Unloadable;
        var servable = repository.Manifests.Count - unloadable.Count;
        var problems = unloadable.Count == 0 ? string.Empty : $" ({unloadable.Count} more cannot be loaded)";
        await console.Output.WriteLineAsync($"Serving {servable} model(s) from {_components.Source}{problems}").ConfigureAwait(false);
        var width = repository.Manifests.Count == 0 ? 0 : repository.Manifests.Max(m => m.Name.Length);

        // Each model's readiness as /v2/models/{m}/ready reports it: its artifact verified (no session is created).
        var statuses = await Task.WhenAll(repository.Manifests.Select(m => repository.CheckAsync(m.Name, null, CancellationToken.None))).ConfigureAwait(false);
        foreach (var (manifest, status) in repository.Manifests.Zip(statuses))
        {
            var detail = unloadable.Any(u => u.Name == manifest.Name)
                ? status.Reason ?? "unavailable"
                : $"POST {root}/v2/models/{manifest.Name}/infer  ({status.Reason})";
            await console.Output.WriteLineAsync($"  {manifest.Name.PadRight(width)}  v{status.Version}  {status.StateText,-11}  {detail}").ConfigureAwait(false);
        }

        foreach (var skipped in _components.Skipped)
        {
            await console.Error.WriteLineAsync($"Warning: not served: {skipped.Reason}.").ConfigureAwait(false);
        }

        if (servable == 0)
        {
            await console.Error.WriteLineAsync(NothingToServe(_components)).ConfigureAwait(false);
        }

        var loading = _components.PreloadNames.Count == 0
            ? "models load on first use"
            : $"MODEL_PRELOAD loading {string.Join(", ", _components.PreloadNames)} in the background, other models on first use";
        await console.Output.WriteLineAsync($"Listening on {root} ({loading}; Ctrl+C stops)").ConfigureAwait(false);
        if (!IPAddress.IsLoopback(_boundAddress))
        {
            await console.Output.WriteLineAsync($"Warning: bound to {_boundAddress}, not loopback: anyone who can reach this machine can call the models (there is no authentication).").ConfigureAwait(false);
        }
        await console.Output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>The warning for a server with no model it can serve, saying what to do.</summary>
    internal static string NothingToServe(ServingComponents components) =>
        components.Repository.Manifests.Count == 0 && components.Skipped.Count == 0
            ? $"Warning: no models to serve: {components.Source} holds no <name>/model.json manifests and no *.onnx files. Put models there, or pass --models DIR."
            : $"Warning: no model in {components.Source} can be served (see above); every request will fail until the files are fixed and the server is started again.";

    private void OnSignal(PosixSignalContext context)
    {
        // Handled here (a drain and exit code 0) instead of the runtime's default termination.
        context.Cancel = true;
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already shut down.
        }
    }

    /// <summary>MODEL_PRELOAD in the background: the server already answers; each model logs when it is ready or why it failed.</summary>
    private Task<IReadOnlyList<ModelStatus>> StartPreload(ILogger logger)
    {
        if (_components.PreloadNames.Count == 0)
        {
            return Preload;
        }

        return Task.Run(async () =>
        {
            var statuses = await _components.PreloadAsync(CancellationToken.None).ConfigureAwait(false);
            foreach (var status in statuses)
            {
                if (status.State == ModelState.Ready)
                {
                    LogPreloaded(logger, status.Name, status.Version);
                }
                else
                {
                    LogPreloadFailed(logger, status.Name, status.Version, status.Reason ?? status.StateText);
                }
            }

            StartupTrace.Mark("MODEL_PRELOAD done");
            return statuses;
        });
    }

    private static void LoadRuntimeQuietly()
    {
        // Every artifact is hashed on its first load (in place for a local store, while downloading otherwise):
        // have the crypto library (OpenSSL, about 20 ms to initialize) ready by the time the first request needs
        // it. In the runtime's task, before its load: a task of its own measured slower (one more thread
        // competing for 2 cores at start-up; bench/quick-cold-start.sh 12 mix, 2026-11-22: 0.83x vs 0.76x).
        WarmUpHashing();
        try
        {
            OrtRuntime.EnsureLoaded();
            StartupTrace.MarkOnce(StartupTrace.Once.RuntimeLoaded, $"ONNX Runtime {OrtRuntime.Version} loaded in the background");
        }
        catch (InferenceException ex)
        {
            // Thrown again, with the same message, by the first session creation.
            StartupTrace.Mark($"ONNX Runtime not loaded in the background: {ex.Message}");
        }
    }

    private static void WarmUpHashing()
    {
        _ = SHA256.HashData(ReadOnlySpan<byte>.Empty);
        StartupTrace.Mark("SHA-256 ready (artifacts are hashed on first load)");
    }

    /// <summary>Waits for the background load of the native libraries, whatever its outcome (its errors resurface at the first session).</summary>
    private static async Task WhenNativeLoadsDoneAsync(Task runtime)
    {
        try
        {
            await runtime.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Only its completion matters here; a load that failed is retried, with its message, by the first session.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static async Task DisposeQuietlyAsync(ServeEdge? server)
    {
        if (server is not null)
        {
            await server.DisposeAsync().ConfigureAwait(false);
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
