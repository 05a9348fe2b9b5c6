using Serverless.Tests.Shared;

namespace Serverless.Storage.S3.Tests;

/// <summary>One s3rver, with the <see cref="S3rverStores.Bucket"/> bucket, shared by the tests of a class.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    internal S3rverServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3rverServer.StartAsync(S3rverStores.Bucket);

    public Task DisposeAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }
}
