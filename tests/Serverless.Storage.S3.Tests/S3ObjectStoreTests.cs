using System.Security.Cryptography;
using Amazon.Runtime;
using Serverless.Core.Errors;
using Serverless.Tests.Shared;

namespace Serverless.Storage.S3.Tests;

public sealed class S3ObjectStoreTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>
{
    private static readonly byte[] Model = File.ReadAllBytes(RepoPaths.ModelFile("text-recognition"));

    private S3rverServer Server => fixture.Server;

    [Fact]
    public async Task Put_AsOneRequest_RoundTripsByteExact()
    {
        using var store = Server.Store("single");

        await store.PutAsync("rec/model.onnx", new MemoryStream(Model));

        Assert.Equal(SHA256.HashData(Model), await HashOf(store, "rec/model.onnx"));
        Assert.Equal(Model.Length, (await store.GetPropertiesAsync("rec/model.onnx", default))!.Size);
    }

    [Fact]
    public async Task Put_AsMultipart_RoundTripsByteExact()
    {
        using var store = Server.Store("multi", new S3ObjectStoreOptions { MultipartThresholdBytes = 6 << 20, PartSizeBytes = 5 << 20 });

        await store.PutAsync("rec/model.onnx", new MemoryStream(Model));

        Assert.Equal(SHA256.HashData(Model), await HashOf(store, "rec/model.onnx"));
    }

    [Fact]
    public async Task Put_FromANonSeekableStream_RoundTripsByteExact()
    {
        using var store = Server.Store("pipe");

        await store.PutAsync("x.bin", new NonSeekable(new MemoryStream(Model, 0, 100_000)));

        Assert.Equal(SHA256.HashData(Model.AsSpan(0, 100_000)), await HashOf(store, "x.bin"));
    }

    [Fact]
    public async Task OpenRead_WithARange_ReturnsOnlyThoseBytes()
    {
        using var store = Server.Store("range");
        await store.PutAsync("r.bin", new MemoryStream(Model, 0, 1000));

        await using var stream = await store.OpenReadAsync("r.bin", 100, 50);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(Model.AsSpan(100, 50).ToArray(), copy.ToArray());
    }

    [Fact]
    public async Task OpenRead_AMissingObject_ThrowsNotFoundNamingTheKey()
    {
        using var store = Server.Store("missing");

        var error = await Assert.ThrowsAsync<InferenceException>(() => store.OpenReadAsync("nope/model.onnx"));

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Contains("'nope/model.onnx'", error.Message);
        Assert.Contains("s3://models/missing/", error.Message);
        Assert.Null(await store.GetPropertiesAsync("nope/model.onnx", default));
    }

    [Fact]
    public async Task List_ReturnsKeysRelativeToThePrefix()
    {
        using var store = Server.Store("list/deep");
        await store.PutAsync("a/model.json", new MemoryStream([1]));
        await store.PutAsync("b/1/model.onnx", new MemoryStream([1, 2]));

        var items = new List<(string, long)>();
        await foreach (var item in store.ListAsync(string.Empty))
        {
            items.Add((item.Key, item.Size));
        }

        Assert.Equal([("a/model.json", 1L), ("b/1/model.onnx", 2L)], items);
    }

    [Fact]
    public async Task AnyCall_WithWrongCredentials_ThrowsStorageUnavailableAboutCredentials()
    {
        using var good = Server.Store("x");
        await good.PutAsync("a/model.json", new MemoryStream([1]));
        using var store = S3ObjectStore.Create(new Uri("s3://models/x"), new TestEnvironment(), new S3ObjectStoreOptions
        {
            ServiceUrl = Server.Endpoint,
            Credentials = new BasicAWSCredentials("NOT-A-KEY", "wrong-secret"),
            MaxErrorRetry = 0,
        });

        var error = await Assert.ThrowsAsync<InferenceException>(() => store.OpenReadAsync("a/model.json"));

        Assert.Equal(ErrorCode.StorageUnavailable, error.Code);
        Assert.Contains("denied", error.Message);
        Assert.Contains("credentials", error.Message);
    }

    [Fact]
    public async Task AnyCall_WhenNothingListens_ThrowsStorageUnavailable()
    {
        using var store = S3ObjectStore.Create(new Uri("s3://models/x"), new TestEnvironment(), new S3ObjectStoreOptions
        {
            ServiceUrl = $"http://127.0.0.1:{LoopbackPort.Free()}",
            Credentials = S3rverStores.Credentials,
            MaxErrorRetry = 0,
        });

        var error = await Assert.ThrowsAsync<InferenceException>(() => store.OpenReadAsync("a/model.json"));

        Assert.Equal(ErrorCode.StorageUnavailable, error.Code);
        Assert.Contains("Cannot reach the model store s3://models/x/", error.Message);
    }

    [Fact]
    public async Task Create_FromTheEnvironment_UsesAwsEndpointUrlS3AndTheKeys()
    {
        var env = new TestEnvironment();
        env.Variables["AWS_ENDPOINT_URL_S3"] = Server.Endpoint;
        env.Variables["AWS_ACCESS_KEY_ID"] = "S3RVER";
        env.Variables["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
        var resolver = S3ObjectStore.Register(new Core.Storage.ObjectStoreResolver(), env);

        var store = (S3ObjectStore)resolver.Resolve("s3://models/env/");
        await store.PutAsync("k", new MemoryStream([42]));

        Assert.Equal("s3://models/env/", store.Root);
        Assert.Equal(1, (await store.GetPropertiesAsync("k", default))!.Size);
        store.Dispose();
    }

    [Theory]
    [InlineData("s3://b/x")]
    [InlineData("s3://models/a%5Cb")]
    [InlineData("s3://models/x?versionId=1")]
    public void ParseUri_RejectsBadBucketsAndPrefixes(string uri) =>
        Assert.Equal(ErrorCode.InvalidInput, Assert.Throws<InferenceException>(() => S3ObjectStore.ParseUri(new Uri(uri))).Code);

    [Fact]
    public void ParseUri_SplitsBucketAndPrefix() =>
        Assert.Equal(("models", "prod/v2"), S3ObjectStore.ParseUri(new Uri("s3://models/prod/v2/")));

    private static async Task<byte[]> HashOf(S3ObjectStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key);
        return await SHA256.HashDataAsync(stream);
    }

    private sealed class NonSeekable(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
