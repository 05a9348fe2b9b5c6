using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.Gpu.Hosting;

/// <summary>
/// Graceful drain. On SIGTERM (or any host stop) readiness turns 503 first and stays so for the drain delay,
/// while the listener still serves, so the load balancer sees the target unhealthy and stops sending to it;
/// then the host stops Kestrel, which refuses new connections and lets in-flight requests finish within the
/// shutdown timeout. As a lifecycle service, <see cref="StoppingAsync"/> runs before any hosted service
/// (Kestrel included) stops.
/// </summary>
internal sealed partial class DrainState(TimeSpan drainDelay, ILogger logger) : IHostedLifecycleService
{
    private int _draining;

    public bool IsDraining => Volatile.Read(ref _draining) == 1;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _draining, 1) == 1)
        {
            return; // a second stop (SIGTERM, then disposal) must not wait again
        }

        LogDraining(logger, drainDelay.TotalSeconds);
        try
        {
            await Task.Delay(drainDelay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The shutdown timeout ran out during the drain delay: stop now.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Draining: readiness answers 503 for {Seconds} s, then the listener closes and in-flight requests finish.")]
    private static partial void LogDraining(ILogger logger, double seconds);
}
