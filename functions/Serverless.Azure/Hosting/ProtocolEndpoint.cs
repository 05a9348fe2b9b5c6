using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Azure.Batch;
using Serverless.Core.Errors;

namespace Serverless.Azure.Hosting;

/// <summary>
/// The HTTP functions' one piece of work: hand the request's <see cref="HttpContext"/> to the core protocol
/// handler through the shared Kestrel adapter, so every route (health, metadata, infer in JSON and the binary
/// extension, the repository extension) answers exactly as the CLI server and the Lambda do. When the app
/// cannot start (a bad setting), every request gets a 500 naming the setting, in the protocol's error shape.
/// </summary>
public sealed class ProtocolEndpoint(AzureModelHost host)
{
    public async Task ServeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        AzureModels models;
        try
        {
            models = await host.ReadyAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (InferenceException ex)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            context.Response.ContentType = "application/json";
            var body = JsonSerializer.SerializeToUtf8Bytes(ex.Message, AzureJsonContext.Default.String);
            await context.Response.WriteAsync("{\"error\":", context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
            await context.Response.WriteAsync("}", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        await models.Adapter.HandleAsync(context).ConfigureAwait(false);
    }
}
