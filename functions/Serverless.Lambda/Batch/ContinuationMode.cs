namespace Serverless.Lambda.Batch;

/// <summary>
/// How a file that could not be finished before the deadline gets another invocation
/// (<c>BATCH_CONTINUATION</c>). Either way the next invocation resumes from the checkpoint.
/// </summary>
public enum ContinuationMode
{
    /// <summary>
    /// Write a small marker object next to the input (<c>&lt;dir&gt;/.continue/&lt;tag&gt;.json</c>); its
    /// ObjectCreated event starts the next invocation at once. Needs s3:PutObject on that prefix. Default.
    /// </summary>
    Marker,

    /// <summary>
    /// Return the SQS message as a batch item failure, so SQS redelivers it after the visibility timeout
    /// (each continuation counts toward the queue's maxReceiveCount). A direct S3 invocation throws instead,
    /// so Lambda's asynchronous retry (at most two) continues it.
    /// </summary>
    Redeliver,
}
