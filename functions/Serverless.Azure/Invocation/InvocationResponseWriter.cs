using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Azure.Batch;

namespace Serverless.Azure.Invocation;

/// <summary>
/// Writes the custom-handler response payload: <c>Outputs</c> (no output bindings here, so empty),
/// <c>Logs</c> (the host copies them into the function's invocation log) and <c>ReturnValue</c> (the
/// per-file batch results).
/// </summary>
internal static class InvocationResponseWriter
{
    public static async Task WriteAsync(HttpResponse response, int status, IReadOnlyList<string> logs, BatchInvocationOutcome? outcome)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = status;
        response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("Outputs");
            writer.WriteEndObject();
            writer.WriteStartArray("Logs");
            foreach (var line in logs)
            {
                writer.WriteStringValue(line);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("ReturnValue");
            if (outcome is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteStartObject();
                writer.WriteBoolean("retry", outcome.Retry);
                writer.WriteStartArray("files");
                foreach (var file in outcome.Files)
                {
                    writer.WriteStartObject();
                    writer.WriteString("status", file.Status);
                    WriteIfSet(writer, "blob", file.Blob);
                    WriteIfSet(writer, "model", file.Model);
                    WriteIfSet(writer, "output", file.Output);
                    WriteIfSet(writer, "summary", file.Summary);
                    writer.WriteNumber("lines", file.Lines);
                    writer.WriteNumber("failed", file.Failed);
                    WriteIfSet(writer, "reason", file.Reason);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)).ConfigureAwait(false);
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
