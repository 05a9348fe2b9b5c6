namespace Serverless.Lambda.Events;

/// <summary>Which AWS service shaped an event payload.</summary>
public enum EventKind
{
    Unknown,
    /// <summary>API Gateway HTTP API, payload 2.0.</summary>
    HttpApiV2,
    /// <summary>Lambda Function URL (2.0-shaped, domain *.lambda-url.*).</summary>
    FunctionUrl,
    /// <summary>API Gateway REST API proxy (or HTTP API with payload 1.0).</summary>
    RestApiV1,
    /// <summary>S3 event notification delivered directly.</summary>
    S3,
    /// <summary>SQS batch (bodies are S3 notifications).</summary>
    Sqs,
    /// <summary>S3's one-off <c>s3:TestEvent</c>.</summary>
    S3TestEvent,
}
