using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Inference.Batching;
using Serverless.Core.Models;
using Serverless.Core.Protocol;
using Serverless.Hosting.AspNetCore;

namespace Serverless.Gpu.Hosting;

/// <summary>
/// What the GPU server adds to the protocol's metadata, without changing the core handler:
/// <c>GET /v2</c> gains <c>"execution_provider"</c> (what this server's sessions get, found at start-up),
/// <c>"gpu_required"</c>, <c>"execution_providers"</c> (every served model to the provider its session runs on, or
/// will run on once loaded)
/// and the <c>"statistics"</c> extension, and <c>GET /v2/models/{model}/stats</c> (the shape of Triton's
/// statistics extension, simplified) reports per model its state, execution provider, why CUDA was not used,
/// the batching settings and the batcher's counters. Neither endpoint loads a model.
/// </summary>
internal sealed class ModelStatsEndpoint(
    KestrelProtocolAdapter protocol, BatchingModelRepository repository, DynamicBatchingOptions batching, bool preferCuda, bool requireCuda, string serverProvider)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    public async Task ServerMetadataAsync(HttpContext context)
    {
        using var response = new BufferedProtocolResponse();
        await protocol.RunAsync(context, response).ConfigureAwait(false);
        if (response.StatusCode == StatusCodes.Status200OK && JsonNode.Parse(response.BodyMemory.Span) is JsonObject metadata)
        {
            if (metadata["extensions"] is JsonArray extensions)
            {
                extensions.Add("statistics");
            }

            var providers = new JsonObject();
            foreach (var manifest in repository.Manifests)
            {
                providers[manifest.Name] = LoadedBatcher(manifest.Name)?.ExecutionProvider ?? serverProvider;
            }

            metadata["execution_provider"] = serverProvider;
            metadata["gpu_required"] = requireCuda;
            metadata["execution_providers"] = providers;
            response.Clear();
            using (var writer = new Utf8JsonWriter(response.Body, WriterOptions))
            {
                metadata.WriteTo(writer);
            }
        }

        await KestrelProtocolAdapter.SendAsync(context, response).ConfigureAwait(false);
    }

    public async Task ModelStatsAsync(HttpContext context, string model)
    {
        var manifest = repository.Find(model);
        context.Response.ContentType = ProtocolContentTypes.Json;
        using var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body, WriterOptions))
        {
            if (manifest is null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                json.WriteStartObject();
                json.WriteString("error", $"Unknown model '{model}'. Models served here: {string.Join(", ", repository.Manifests.Select(m => m.Name))}.");
                json.WriteEndObject();
            }
            else
            {
                WriteStats(json, manifest);
            }
        }

        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted).ConfigureAwait(false);
    }

    private void WriteStats(Utf8JsonWriter json, ModelManifest manifest)
    {
        var status = repository.GetStatus(manifest.Name);
        var batcher = LoadedBatcher(manifest.Name);
        json.WriteStartObject();
        json.WriteStartArray("model_stats");
        json.WriteStartObject();
        json.WriteString("name", manifest.Name);
        json.WriteString("version", status.Version);
        json.WriteString("state", status.StateText);
        json.WriteString("requested_execution_provider", preferCuda ? OnnxSessionBuilderNames.Cuda : OnnxSessionBuilderNames.Cpu);
        json.WriteBoolean("gpu_required", requireCuda);
        if (batcher is null)
        {
            // Not loaded: the provider its load will get, as the start-up probe found.
            json.WriteString("execution_provider", serverProvider);
            json.WriteNull("fallback_reason");
        }
        else
        {
            json.WriteString("execution_provider", batcher.ExecutionProvider);
            if (ExecutionProviderFactory.FallbackReason(batcher.Inner, preferCuda) is { } reason)
            {
                json.WriteString("fallback_reason", reason);
            }
            else
            {
                json.WriteNull("fallback_reason");
            }
        }

        json.WriteStartObject("batching");
        json.WriteBoolean("enabled", batcher?.IsBatching ?? (batching.MaxBatchSize ?? manifest.MaxBatchSize) > 1);
        json.WriteNumber("max_batch_size", batcher?.MaxBatchSize ?? batching.MaxBatchSize ?? manifest.MaxBatchSize);
        json.WriteNumber("max_queue_delay_microseconds", (long)batching.MaxDelay.TotalMicroseconds);
        json.WriteNumber("max_queue_size", batching.MaxQueuedRequests);
        json.WriteEndObject();

        var stats = batcher?.Statistics ?? default;
        json.WriteNumber("inference_count", stats.Requests);
        json.WriteNumber("execution_count", stats.Runs);
        json.WriteNumber("joined_execution_count", stats.JoinedRuns);
        json.WriteNumber("failed_execution_count", stats.FailedRuns);
        json.WriteNumber("rejected_count", stats.Rejected);
        json.WriteNumber("largest_batch", stats.LargestBatch);
        json.WriteNumber("queued", stats.Queued);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The batcher of the model's live session, or null when the model is not loaded.</summary>
    private DynamicBatcher? LoadedBatcher(string model) =>
        repository.GetStatus(model).State == ModelState.Ready ? repository.FindBatcher(model) : null;
}
