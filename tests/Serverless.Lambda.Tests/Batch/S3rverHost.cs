using System.Text;
using Amazon.Runtime;
using Serverless.Storage.S3;
using Serverless.Tests.Shared;

namespace Serverless.Lambda.Tests.Batch;

/// <summary>
/// A real s3rver on a free loopback port with a "batch" bucket, and the environment a bootstrap needs to
/// reach it (endpoint override, s3rver's fixed credentials). Dispose kills the process tree.
/// </summary>
public sealed class S3rverHost : IAsyncLifetime
{
    public const string Bucket = "batch";

    private S3rverServer _server = null!;

    public string Endpoint => _server.Endpoint;

    /// <summary>A store over the bucket, for the test to upload inputs and read results.</summary>
    public S3ObjectStore Store { get; private set; } = null!;

    public Dictionary<string, string?> Environment => new(_server.ClientEnvironment);

    public async Task InitializeAsync()
    {
        _server = await S3rverServer.StartAsync(Bucket);
        Store = S3ObjectStore.Create(new Uri($"s3://{Bucket}/"), null, new S3ObjectStoreOptions
        {
            ServiceUrl = Endpoint,
            Credentials = new BasicAWSCredentials(S3rverServer.AccessKeyId, S3rverServer.SecretAccessKey),
            Region = S3rverServer.Region,
        });
    }

    public async Task PutTextAsync(string key, string text) =>
        await Store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(text)), "application/x-ndjson", default);

    public async Task<string> GetTextAsync(string key)
    {
        await using var stream = await Store.OpenReadAsync(key, 0, null, default);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    public async Task<List<string>> ListAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var o in Store.ListAsync(prefix))
        {
            keys.Add(o.Key);
        }

        return keys;
    }

    public Task DisposeAsync()
    {
        Store?.Dispose();
        _server?.Dispose();
        return Task.CompletedTask;
    }
}
