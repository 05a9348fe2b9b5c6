using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Gpu;

// The container's entry point: read the settings, serve until SIGTERM, drain, exit 0. A configuration error
// is one human line on stderr and exit code 2, so ECS shows why the task stopped.
GpuServerOptions options;
try
{
    options = GpuServerOptions.FromEnvironment(SystemEnvironment.Instance, args);
}
catch (InferenceException ex)
{
    await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
    return 2;
}

GpuServer server;
try
{
    server = await GpuServer.StartAsync(options).ConfigureAwait(false);
}
catch (InferenceException ex)
{
    await Console.Error.WriteLineAsync($"The GPU server could not start: {ex.Message}").ConfigureAwait(false);
    return 2;
}
catch (IOException ex)
{
    await Console.Error.WriteLineAsync($"The GPU server cannot listen on {options.Urls}: {ex.Message} Set --urls, ASPNETCORE_URLS or PORT.").ConfigureAwait(false);
    return 2;
}

await using (server.ConfigureAwait(false))
{
    await server.WaitForShutdownAsync().ConfigureAwait(false);
}

return 0;
