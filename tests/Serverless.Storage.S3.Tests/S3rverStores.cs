using Amazon.Runtime;
using Serverless.Tests.Shared;

namespace Serverless.Storage.S3.Tests;

/// <summary>The SDK side of the shared <see cref="S3rverServer"/>: its account as credentials, and stores over its bucket.</summary>
internal static class S3rverStores
{
    public const string Bucket = "models";

    public static AWSCredentials Credentials { get; } = new BasicAWSCredentials(S3rverServer.AccessKeyId, S3rverServer.SecretAccessKey);

    /// <summary>A store on the server's bucket with an optional prefix, blind to the machine's AWS variables.</summary>
    public static S3ObjectStore Store(this S3rverServer server, string prefix = "", S3ObjectStoreOptions? options = null) =>
        S3ObjectStore.Create(new Uri($"s3://{server.Bucket}/{prefix}"), new TestEnvironment(), (options ?? new S3ObjectStoreOptions()) with
        {
            ServiceUrl = server.Endpoint,
            Credentials = Credentials,
        });
}
