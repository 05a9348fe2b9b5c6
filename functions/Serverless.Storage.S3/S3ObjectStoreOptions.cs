using Amazon.Runtime;

namespace Serverless.Storage.S3;

/// <summary>Overrides for <see cref="S3ObjectStore"/>; every one defaults to the AWS SDK's standard behaviour.</summary>
public sealed record S3ObjectStoreOptions
{
    /// <summary>Endpoint override; when null AWS_ENDPOINT_URL_S3 (then AWS_ENDPOINT_URL) is used. Either implies path-style addressing.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>Explicit credentials; when null the SDK's default chain (environment, profile, container, instance role).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>Region; when null AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1 with an endpoint override.</summary>
    public string? Region { get; init; }

    /// <summary>Objects up to this size are uploaded with one PutObject; larger ones as multipart. S3's single-PUT limit is 5 GiB.</summary>
    public long MultipartThresholdBytes { get; init; } = 256L << 20;

    /// <summary>Part size for multipart uploads (S3 requires at least 5 MiB for all but the last part).</summary>
    public int PartSizeBytes { get; init; } = 32 << 20;

    /// <summary>SDK retries per request; connection failures are retried this many times with back-off.</summary>
    public int MaxErrorRetry { get; init; } = 2;

    /// <summary>Per-request timeout (a whole model download counts as one request).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
}
