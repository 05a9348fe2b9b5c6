using System.Text.Json.Serialization;

namespace Serverless.Lambda.Events;

/// <summary>An SQS event source mapping batch. Each message body here is an S3 notification (or S3 test event).</summary>
public sealed record SqsEvent
{
    [JsonPropertyName("Records")] public IReadOnlyList<SqsMessage>? Records { get; init; }
}

public sealed record SqsMessage
{
    [JsonPropertyName("messageId")] public string? MessageId { get; init; }
    [JsonPropertyName("receiptHandle")] public string? ReceiptHandle { get; init; }
    [JsonPropertyName("body")] public string? Body { get; init; }
    [JsonPropertyName("attributes")] public Dictionary<string, string>? Attributes { get; init; }
    [JsonPropertyName("md5OfBody")] public string? Md5OfBody { get; init; }
    [JsonPropertyName("eventSource")] public string? EventSource { get; init; }
    [JsonPropertyName("eventSourceARN")] public string? EventSourceArn { get; init; }
    [JsonPropertyName("awsRegion")] public string? AwsRegion { get; init; }
}

/// <summary>
/// The partial-batch response (<c>ReportBatchItemFailures</c> must be on for the event source mapping):
/// only the listed messages return to the queue; an empty list deletes the whole batch.
/// </summary>
public sealed record SqsBatchResponse
{
    [JsonPropertyName("batchItemFailures")] public IReadOnlyList<SqsBatchItemFailure> BatchItemFailures { get; init; } = [];
}

public sealed record SqsBatchItemFailure
{
    [JsonPropertyName("itemIdentifier")] public required string ItemIdentifier { get; init; }
}
