using Serverless.Core.Hosting;
using Serverless.Core.Storage;
using Serverless.Lambda.Runtime;

namespace Serverless.Lambda;

/// <summary>
/// Entry point of the <c>bootstrap</c> executable: connect to the Runtime API, build the function during
/// Lambda's init phase, then serve events until the Runtime API goes away. Exit codes: 0 stopped,
/// 1 init failed (reported to /init/error), 2 the Runtime API failed.
/// </summary>
internal static class Program
{
    private static async Task<int> Main()
    {
        var stdout = Console.Out;
        var stderr = Console.Error;
        RuntimeApiClient client;
        try
        {
            client = RuntimeApiClient.FromEnvironment(Environment.GetEnvironmentVariable);
        }
        catch (InvalidOperationException ex)
        {
            await stderr.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return LambdaRuntimeLoop.ExitInitFailed;
        }

        using (client)
        using (var stop = new CancellationTokenSource())
        {
            // Lambda sends SIGTERM before shutting an environment down (when extensions are registered).
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            LambdaFunction? function = null;
            var loop = new LambdaRuntimeLoop(client, stderr);
            try
            {
                return await loop.RunAsync(async ct =>
                {
                    var resolver = new ObjectStoreResolver();
                    StoreRegistration.RegisterAll(resolver);
                    function = await LambdaFunction.CreateAsync(SystemEnvironment.Instance, resolver, stdout, stderr, ct).ConfigureAwait(false);
                    return function;
                }, stop.Token).ConfigureAwait(false);
            }
            finally
            {
                function?.Dispose();
            }
        }
    }
}
