namespace Serverless.Lambda.Emulator;

/// <summary>
/// Local Lambda emulation in one object, for the CLI's <c>lambda</c> mode: a Runtime API emulator, the real
/// bootstrap as a child process, and an HTTP front door on 127.0.0.1:<c>port</c> that turns requests into
/// HTTP API 2.0 events. Dispose stops all three.
/// </summary>
public sealed class LambdaEmulation : IAsyncDisposable
{
    private LambdaEmulation(RuntimeApiEmulator runtime, LambdaProcess process, LambdaFrontDoor frontDoor)
    {
        Runtime = runtime;
        Process = process;
        FrontDoor = frontDoor;
    }

    public RuntimeApiEmulator Runtime { get; }

    public LambdaProcess Process { get; }

    public LambdaFrontDoor FrontDoor { get; }

    /// <summary>
    /// Starts everything. <paramref name="bootstrapPath"/> is the published <c>bootstrap</c> (or a
    /// framework-dependent bootstrap.dll); <paramref name="environment"/> is the function's configuration
    /// (MODEL_NAME, MODEL_STORE, ...); <paramref name="timeout"/> is the function timeout.
    /// </summary>
    public static async Task<LambdaEmulation> StartAsync(string bootstrapPath, IReadOnlyDictionary<string, string?> environment, int port = 0,
        TimeSpan? timeout = null, Action<string>? onOutput = null, CancellationToken cancellationToken = default)
    {
        var runtime = await RuntimeApiEmulator.StartAsync(0, cancellationToken).ConfigureAwait(false);
        LambdaProcess? process = null;
        try
        {
            process = LambdaProcess.Start(bootstrapPath, runtime.Endpoint, environment, onOutput);
            var door = await LambdaFrontDoor.StartAsync(runtime, port, timeout, cancellationToken).ConfigureAwait(false);
            return new LambdaEmulation(runtime, process, door);
        }
        catch
        {
            if (process is not null)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }

            await runtime.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await FrontDoor.DisposeAsync().ConfigureAwait(false);
        await Process.DisposeAsync().ConfigureAwait(false);
        await Runtime.DisposeAsync().ConfigureAwait(false);
    }
}
