using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Azure.Batch;
using Serverless.Core.Errors;

namespace Serverless.Azure.Invocation;

/// <summary>
/// Non-HTTP triggers as the Functions host delivers them to a custom handler: POST /{functionName} with
/// <c>{"Data": {binding: value}, "Metadata": {...}}</c>, answered with
/// <c>{"Outputs": {...}, "Logs": [...], "ReturnValue": ...}</c>. A non-2xx status fails the invocation,
/// which for Event Grid means redelivery. Functions named <c>&lt;model&gt;-batch</c> score for that model;
/// <c>batch</c> takes the model from the blob key.
/// </summary>
internal sealed class InvocationEndpoint
{
    public const string BatchSuffix = "-batch";
    public const string SharedBatchFunction = "batch";
    private const int MaxPayloadBytes = 4 * 1024 * 1024;

    private readonly BlobCreatedBatchHandler _batch;
    private readonly IReadOnlyCollection<string> _models;

    public InvocationEndpoint(BlobCreatedBatchHandler batch, IReadOnlyCollection<string> models)
    {
        _batch = batch ?? throw new ArgumentNullException(nameof(batch));
        _models = models ?? throw new ArgumentNullException(nameof(models));
    }

    public async Task HandleAsync(HttpContext context, string functionName)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logs = new List<string>();
        string? servedModel;
        if (functionName == SharedBatchFunction)
        {
            servedModel = null;
        }
        else if (functionName.EndsWith(BatchSuffix, StringComparison.Ordinal) && _models.Contains(functionName[..^BatchSuffix.Length]))
        {
            servedModel = functionName[..^BatchSuffix.Length];
        }
        else
        {
            logs.Add($"No function '{functionName}' in this handler. Its functions are: {string.Join(", ", _models.Select(m => m + BatchSuffix))}, {SharedBatchFunction}, and the HTTP routes under /v2/.");
            await InvocationResponseWriter.WriteAsync(context.Response, StatusCodes.Status404NotFound, logs, null).ConfigureAwait(false);
            return;
        }

        JsonDocument payload;
        try
        {
            payload = await ReadPayloadAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InferenceException)
        {
            logs.Add($"The invocation payload of '{functionName}' is not a JSON object with Data: {ex.Message}");
            await InvocationResponseWriter.WriteAsync(context.Response, StatusCodes.Status400BadRequest, logs, null).ConfigureAwait(false);
            return;
        }

        using (payload)
        {
            if (!TryFindTrigger(payload.RootElement, out var trigger, out var owned, out var why))
            {
                logs.Add($"The invocation of '{functionName}' carries no trigger data: {why}.");
                await InvocationResponseWriter.WriteAsync(context.Response, StatusCodes.Status400BadRequest, logs, null).ConfigureAwait(false);
                return;
            }

            using (owned)
            {
                var outcome = await _batch.HandleAsync(trigger, servedModel, logs, context.RequestAborted).ConfigureAwait(false);
                await InvocationResponseWriter.WriteAsync(context.Response, outcome.Retry ? StatusCodes.Status500InternalServerError : StatusCodes.Status200OK, logs, outcome).ConfigureAwait(false);
            }
        }
    }

    private static async Task<JsonDocument> ReadPayloadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxPayloadBytes)
        {
            throw InferenceException.TooLarge($"the payload is {request.ContentLength} bytes; at most {MaxPayloadBytes} are accepted");
        }

        return await JsonDocument.ParseAsync(request.Body, default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The trigger's value in Data: the eventGridEvent binding when present, else the only binding. The host
    /// may pass it as an object or as a JSON string; a string is parsed (into <paramref name="owned"/>).
    /// </summary>
    private static bool TryFindTrigger(JsonElement root, out JsonElement trigger, out JsonDocument? owned, out string why)
    {
        trigger = default;
        owned = null;
        if (root.ValueKind != JsonValueKind.Object || !TryGetPropertyIgnoreCase(root, "Data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            why = "the payload has no Data object";
            return false;
        }

        if (!TryGetPropertyIgnoreCase(data, "eventGridEvent", out var value))
        {
            var properties = data.EnumerateObject().ToList();
            if (properties.Count != 1)
            {
                why = properties.Count == 0 ? "Data is empty" : $"Data has {properties.Count} bindings and none is named eventGridEvent";
                return false;
            }

            value = properties[0].Value;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            try
            {
                owned = JsonDocument.Parse(value.GetString()!);
            }
            catch (JsonException ex)
            {
                why = $"the event is a string that is not JSON ({ex.Message})";
                return false;
            }

            value = owned.RootElement;
        }

        trigger = value;
        why = string.Empty;
        return true;
    }

    private static bool TryGetPropertyIgnoreCase(JsonElement element, string name, out JsonElement value)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.NameEquals(name) || string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }
}
