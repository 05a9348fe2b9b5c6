// Entry point of the Azure Functions custom handler. `serverless-azure layout <appDir> [modelsDir]` writes
// host.json and the function folders instead of serving.
using Serverless.Azure.Hosting;
using Serverless.Azure.Packaging;

if (args.Length > 0 && args[0] == "layout")
{
    return FunctionAppLayout.RunCommand(args[1..], Console.Out, Console.Error);
}

return await AzureHandlerHost.RunAsync(CancellationToken.None).ConfigureAwait(false);
