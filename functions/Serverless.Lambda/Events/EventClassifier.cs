using System.Text.Json;

namespace Serverless.Lambda.Events;

/// <summary>
/// Tells event shapes apart from their top-level fields, scanning the JSON once without building a
/// document (an HTTP event can carry a body of several MB that a full parse would copy):
/// <c>Records[0].eventSource</c> "aws:s3" or "aws:sqs"; <c>Event</c> "s3:TestEvent"; <c>version</c> "2.0"
/// or <c>rawPath</c> for payload 2.0, a <c>requestContext.domainName</c> containing ".lambda-url." for a
/// Function URL; <c>httpMethod</c> for payload 1.0.
/// </summary>
public static class EventClassifier
{
    public static EventKind Classify(ReadOnlySpan<byte> payload)
    {
        try
        {
            return Scan(payload);
        }
        catch (JsonException)
        {
            return EventKind.Unknown;
        }
    }

    private static EventKind Scan(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return EventKind.Unknown;
        }

        bool v2 = false, rawPath = false, httpMethod = false, lambdaUrl = false;
        string? recordSource = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("Records"u8))
            {
                reader.Read();
                recordSource = FirstRecordSource(ref reader);
                continue;
            }

            if (reader.ValueTextEquals("Event"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("s3:TestEvent"u8))
                {
                    return EventKind.S3TestEvent;
                }

                reader.Skip();
                continue;
            }

            if (reader.ValueTextEquals("version"u8))
            {
                reader.Read();
                v2 |= reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("2.0"u8);
                continue;
            }

            if (reader.ValueTextEquals("rawPath"u8))
            {
                rawPath = true;
            }
            else if (reader.ValueTextEquals("httpMethod"u8))
            {
                httpMethod = true;
            }
            else if (reader.ValueTextEquals("requestContext"u8))
            {
                reader.Read();
                lambdaUrl = IsLambdaUrlContext(ref reader);
                continue;
            }

            reader.Read();
            reader.Skip();
        }

        return recordSource switch
        {
            "aws:s3" => EventKind.S3,
            "aws:sqs" => EventKind.Sqs,
            _ when v2 || rawPath => lambdaUrl ? EventKind.FunctionUrl : EventKind.HttpApiV2,
            _ when httpMethod => EventKind.RestApiV1,
            _ => EventKind.Unknown,
        };
    }

    private static string? FirstRecordSource(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        string? source = null;
        var depth = reader.CurrentDepth;
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isSource = reader.ValueTextEquals("eventSource"u8) || reader.ValueTextEquals("EventSource"u8);
                reader.Read();
                if (isSource && reader.TokenType == JsonTokenType.String)
                {
                    source = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        while (reader.CurrentDepth > depth || reader.TokenType != JsonTokenType.EndArray)
        {
            if (!reader.Read())
            {
                break;
            }
        }

        return source;
    }

    private static bool IsLambdaUrlContext(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isDomain = reader.ValueTextEquals("domainName"u8);
            reader.Read();
            if (isDomain && reader.TokenType == JsonTokenType.String)
            {
                found = reader.GetString()?.Contains(".lambda-url.", StringComparison.OrdinalIgnoreCase) == true;
            }
            else
            {
                reader.Skip();
            }
        }

        return found;
    }
}
