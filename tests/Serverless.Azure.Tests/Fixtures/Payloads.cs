using System.Globalization;
using System.Text;

namespace Serverless.Azure.Tests.Fixtures;

/// <summary>Request bodies and Event Grid payloads shaped as the Functions host and Event Grid send them.</summary>
public static class Payloads
{
    /// <summary>A text-direction infer request: one 3x48x192 image with a deterministic ramp.</summary>
    public static string InferJson(int batch = 1, int width = 192)
    {
        var sb = new StringBuilder($"{{\"inputs\":[{{\"name\":\"x\",\"shape\":[{batch},3,48,{width}],\"datatype\":\"FP32\",\"data\":[");
        var count = batch * 3 * 48 * width;
        for (var i = 0; i < count; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append(((i % 23) / 23.0).ToString("F3", CultureInfo.InvariantCulture));
        }

        return sb.Append("]}]}").ToString();
    }

    public static StringContent InferContent() => new(InferJson(), Encoding.UTF8, "application/json");

    /// <summary>An Event Grid schema event about a blob in Azurite's path-style URL space.</summary>
    public static string BlobEvent(Uri blobEndpoint, string container, string key, string eventType = "Microsoft.Storage.BlobCreated", string eTag = "0x8DCAFE0000000001") =>
        $$$"""
        {"id":"{{{Guid.NewGuid()}}}","topic":"/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
         "subject":"/blobServices/default/containers/{{{container}}}/blobs/{{{key}}}","eventType":"{{{eventType}}}","eventTime":"2026-11-21T10:00:00Z",
         "data":{"api":"PutBlob","contentType":"application/x-ndjson","contentLength":1,"blobType":"BlockBlob",
                 "url":"{{{blobEndpoint}}}{{{container}}}/{{{Escape(key)}}}","eTag":"{{{eTag}}}","sequencer":"0001"},
         "dataVersion":"","metadataVersion":"1"}
        """;

    /// <summary>The same event in the CloudEvents 1.0 schema.</summary>
    public static string BlobCloudEvent(Uri blobEndpoint, string container, string key, string eTag = "0x8DCAFE0000000002") =>
        $$$"""
        {"specversion":"1.0","id":"{{{Guid.NewGuid()}}}","source":"/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
         "subject":"/blobServices/default/containers/{{{container}}}/blobs/{{{key}}}","type":"Microsoft.Storage.BlobCreated","time":"2026-11-21T10:00:00Z",
         "data":{"api":"PutBlob","url":"{{{blobEndpoint}}}{{{container}}}/{{{Escape(key)}}}","eTag":"{{{eTag}}}"}}
        """;

    /// <summary>The custom-handler invocation payload: trigger data under Data, sys metadata under Metadata.</summary>
    public static string Invocation(string function, string eventJson, bool eventAsString = false)
    {
        var data = eventAsString ? System.Text.Json.JsonSerializer.Serialize(eventJson) : eventJson;
        var metadata = $$"""{"sys":{"MethodName":"{{function}}","UtcNow":"2026-11-21T10:00:01Z","RandGuid":"{{Guid.NewGuid()}}"}""" + "}";
        return "{\"Data\":{\"eventGridEvent\":" + data + "},\"Metadata\":" + metadata + "}";
    }

    private static string Escape(string key) => string.Join('/', key.Split('/').Select(Uri.EscapeDataString));
}
