namespace Serverless.Storage.AzureBlob;

/// <summary>Tuning for <see cref="AzureBlobClient"/>; the defaults suit model artifacts of a few MB to a few hundred MB.</summary>
public sealed record AzureBlobClientOptions
{
    /// <summary>Uploads up to this size go in one Put Blob; larger ones are split into blocks.</summary>
    public int SingleUploadLimit { get; init; } = 8 * 1024 * 1024;

    /// <summary>Size of each Put Block (the service allows up to 4000 MiB; 4 MiB keeps memory flat).</summary>
    public int BlockSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>Retries after a throttled (429/503), failed (500) or dropped request, with exponential backoff.</summary>
    public int MaxRetries { get; init; } = 2;

    /// <summary>First retry delay; doubled on each further retry.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Time allowed until response headers arrive (a streamed body may take longer).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    public static AzureBlobClientOptions Default { get; } = new();
}
