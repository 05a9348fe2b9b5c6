using System.Text.Json;

namespace Serverless.Lambda.Observability;

/// <summary>
/// Writes one JSON line per invocation to stdout, which Lambda ships to CloudWatch Logs. The line is also a
/// CloudWatch Embedded Metric Format document: its <c>_aws</c> member declares which numeric fields are
/// metrics (model load time, inference time, cold starts, errors by type, batch records scored and failed),
/// so metrics come without an SDK or an extra API call. Fields that are not declared (request id, trace id)
/// stay searchable log fields. Payloads are never logged.
/// </summary>
public sealed class InvocationLogger
{
    /// <summary>CloudWatch namespace of the metrics.</summary>
    public const string Namespace = "Serverless/Inference";

    private readonly TextWriter _output;
    private readonly string _functionName;
    private readonly Lock _lock = new();

    public InvocationLogger(TextWriter output, string functionName)
    {
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _functionName = functionName;
    }

    public void Write(InvocationRecord record, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var buffer = new MemoryStream(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            WriteEmfMetadata(w, record, timestamp);
            w.WriteString("timestamp", timestamp.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("level", record.ErrorType is null ? "INFO" : "ERROR");
            w.WriteString("message", "invocation");
            w.WriteString("requestId", record.RequestId);
            w.WriteString("Function", _functionName);
            w.WriteString("Model", record.Model ?? "-");
            w.WriteString("event", record.Event);
            w.WriteBoolean("coldStart", record.ColdStart);
            if (record.Status is { } status)
            {
                w.WriteNumber("status", status);
            }

            w.WriteNumber("loadMs", Math.Round(record.LoadMilliseconds, 2));
            w.WriteNumber("runMs", Math.Round(record.RunMilliseconds, 2));
            w.WriteNumber("runs", record.Runs);
            w.WriteNumber("totalMs", Math.Round(record.TotalMilliseconds, 2));
            if (record.TraceId is not null)
            {
                w.WriteString("traceId", record.TraceId);
            }

            // EMF metric values (names declared in _aws).
            w.WriteNumber("ModelLoadTime", Math.Round(record.LoadMilliseconds, 2));
            w.WriteNumber("InferenceTime", Math.Round(record.RunMilliseconds, 2));
            w.WriteNumber("Duration", Math.Round(record.TotalMilliseconds, 2));
            w.WriteNumber("ColdStart", record.ColdStart ? 1 : 0);
            if (record.ErrorType is { } errorType)
            {
                w.WriteString("ErrorType", errorType);
                w.WriteNumber("Errors", 1);
            }

            if (record.BatchRecordsScored is { } scored)
            {
                w.WriteNumber("BatchRecordsScored", scored);
                w.WriteNumber("BatchRecordsFailed", record.BatchRecordsFailed ?? 0);
                w.WriteNumber("BatchFilesIncomplete", record.BatchFilesIncomplete ?? 0);
            }

            w.WriteEndObject();
        }

        var line = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        lock (_lock)
        {
            _output.WriteLine(line);
            _output.Flush();
        }
    }

    private static void WriteEmfMetadata(Utf8JsonWriter w, InvocationRecord record, DateTimeOffset timestamp)
    {
        w.WriteStartObject("_aws");
        w.WriteNumber("Timestamp", timestamp.ToUnixTimeMilliseconds());
        w.WriteStartArray("CloudWatchMetrics");

        w.WriteStartObject();
        w.WriteString("Namespace", Namespace);
        w.WriteStartArray("Dimensions");
        w.WriteStartArray();
        w.WriteStringValue("Function");
        w.WriteStringValue("Model");
        w.WriteEndArray();
        w.WriteEndArray();
        w.WriteStartArray("Metrics");
        Metric(w, "ModelLoadTime", "Milliseconds");
        Metric(w, "InferenceTime", "Milliseconds");
        Metric(w, "Duration", "Milliseconds");
        Metric(w, "ColdStart", "Count");
        if (record.BatchRecordsScored is not null)
        {
            Metric(w, "BatchRecordsScored", "Count");
            Metric(w, "BatchRecordsFailed", "Count");
            Metric(w, "BatchFilesIncomplete", "Count");
        }

        w.WriteEndArray();
        w.WriteEndObject();

        if (record.ErrorType is not null)
        {
            // Errors get their own dimension set so they can be graphed by type.
            w.WriteStartObject();
            w.WriteString("Namespace", Namespace);
            w.WriteStartArray("Dimensions");
            w.WriteStartArray();
            w.WriteStringValue("Function");
            w.WriteStringValue("Model");
            w.WriteStringValue("ErrorType");
            w.WriteEndArray();
            w.WriteEndArray();
            w.WriteStartArray("Metrics");
            Metric(w, "Errors", "Count");
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Metric(Utf8JsonWriter w, string name, string unit)
    {
        w.WriteStartObject();
        w.WriteString("Name", name);
        w.WriteString("Unit", unit);
        w.WriteEndObject();
    }
}
