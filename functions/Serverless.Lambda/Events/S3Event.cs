using System.Text.Json.Serialization;

namespace Serverless.Lambda.Events;

/// <summary>
/// An S3 event notification (event structure version 2.x), delivered to the function directly or as the
/// body of an SQS message. Object keys are URL-encoded in the notification (a space arrives as '+');
/// <see cref="S3EventKeys.Decode"/> turns them back into real keys.
/// </summary>
public sealed record S3Event
{
    [JsonPropertyName("Records")] public IReadOnlyList<S3EventRecord>? Records { get; init; }
}

public sealed record S3EventRecord
{
    [JsonPropertyName("eventVersion")] public string? EventVersion { get; init; }
    [JsonPropertyName("eventSource")] public string? EventSource { get; init; }
    [JsonPropertyName("awsRegion")] public string? AwsRegion { get; init; }
    [JsonPropertyName("eventTime")] public string? EventTime { get; init; }
    [JsonPropertyName("eventName")] public string? EventName { get; init; }
    [JsonPropertyName("s3")] public S3Entity? S3 { get; init; }
}

public sealed record S3Entity
{
    [JsonPropertyName("s3SchemaVersion")] public string? SchemaVersion { get; init; }
    [JsonPropertyName("configurationId")] public string? ConfigurationId { get; init; }
    [JsonPropertyName("bucket")] public S3BucketEntity? Bucket { get; init; }
    [JsonPropertyName("object")] public S3ObjectEntity? Object { get; init; }
}

public sealed record S3BucketEntity
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("arn")] public string? Arn { get; init; }
}

public sealed record S3ObjectEntity
{
    [JsonPropertyName("key")] public string? Key { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("eTag")] public string? ETag { get; init; }
    [JsonPropertyName("versionId")] public string? VersionId { get; init; }
    [JsonPropertyName("sequencer")] public string? Sequencer { get; init; }
}

/// <summary>
/// The message S3 sends once when a notification configuration is saved
/// (<c>{"Service":"Amazon S3","Event":"s3:TestEvent",...}</c>); acknowledged and ignored.
/// </summary>
public sealed record S3TestEvent
{
    [JsonPropertyName("Service")] public string? Service { get; init; }
    [JsonPropertyName("Event")] public string? Event { get; init; }
    [JsonPropertyName("Time")] public string? Time { get; init; }
    [JsonPropertyName("Bucket")] public string? Bucket { get; init; }
    [JsonPropertyName("RequestId")] public string? RequestId { get; init; }
    [JsonPropertyName("HostId")] public string? HostId { get; init; }
}
