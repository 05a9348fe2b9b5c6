using System.Security.Cryptography;
using System.Text;
using Serverless.Core.Errors;
using Serverless.Storage.AzureBlob;
using Serverless.Storage.AzureBlob.Auth;
using Serverless.Tests.Azurite;

namespace Serverless.Storage.AzureBlob.Tests.Client;

[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobClientTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task PutBlob_ThenGetBlob_RoundTripsBytesAndProperties_WithSharedKey()
    {
        using var client = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("roundtrip");
        await client.CreateContainerIfNotExistsAsync(container);
        await client.CreateContainerIfNotExistsAsync(container); // idempotent
        var payload = RandomBytes(100_000, seed: 1);

        await client.PutBlobAsync(container, "models/a b/model.onnx", payload, "application/octet-stream");

        var properties = await client.GetPropertiesAsync(container, "models/a b/model.onnx");
        Assert.NotNull(properties);
        Assert.Equal(payload.Length, properties.Size);
        Assert.False(string.IsNullOrEmpty(properties.ETag));
        Assert.NotNull(properties.LastModified);
        await using var stream = await client.OpenReadAsync(container, "models/a b/model.onnx");
        Assert.Equal(payload.Length, stream.Length);
        Assert.Equal(payload, await ReadAllAsync(stream));
    }

    [Fact]
    public async Task OpenRead_WithRange_ReturnsExactlyThoseBytes()
    {
        using var client = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("range");
        await client.CreateContainerIfNotExistsAsync(container);
        var payload = RandomBytes(10_000, seed: 2);
        await client.PutBlobAsync(container, "blob.bin", payload);

        await using (var middle = await client.OpenReadAsync(container, "blob.bin", offset: 1234, length: 100))
        {
            Assert.Equal(payload.AsSpan(1234, 100).ToArray(), await ReadAllAsync(middle));
        }

        await using (var tail = await client.OpenReadAsync(container, "blob.bin", offset: 9_990))
        {
            Assert.Equal(payload.AsSpan(9_990).ToArray(), await ReadAllAsync(tail));
        }

        await using var empty = await client.OpenReadAsync(container, "blob.bin", offset: 5, length: 0);
        Assert.Empty(await ReadAllAsync(empty));
    }

    [Fact]
    public async Task OpenRead_WithRangePastTheEnd_IsBadInputNamingTheBlob()
    {
        using var client = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("badrange");
        await client.CreateContainerIfNotExistsAsync(container);
        await client.PutBlobAsync(container, "small.bin", RandomBytes(10, seed: 3));

        var ex = await Assert.ThrowsAsync<InferenceException>(() => client.OpenReadAsync(container, "small.bin", offset: 100, length: 5));

        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("small.bin", ex.Message);
    }

    [Fact]
    public async Task Upload_LargerThanTheSingleLimit_UsesBlocksAndReadsBackTheSameSha256()
    {
        // Small limits make a 1 MB stream go through five Put Block calls and a Put Block List.
        using var client = azurite.CreateClient(new AzureBlobClientOptions { SingleUploadLimit = 300_000, BlockSize = 256 * 1024 });
        var container = AzuriteFixture.NewContainer("blocks");
        await client.CreateContainerIfNotExistsAsync(container);
        var payload = RandomBytes(1_100_000, seed: 4);

        await client.UploadAsync(container, "big/model.onnx", new NonSeekableStream(payload), "application/x-onnx");

        var properties = await client.GetPropertiesAsync(container, "big/model.onnx");
        Assert.Equal(payload.Length, properties!.Size);
        Assert.Equal("application/x-onnx", properties.ContentType);
        await using var stream = await client.OpenReadAsync(container, "big/model.onnx");
        Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Convert.ToHexString(await SHA256.HashDataAsync(stream)));
    }

    [Fact]
    public async Task Upload_ExactlyAtTheSingleLimit_UsesOnePutBlob()
    {
        using var client = azurite.CreateClient(new AzureBlobClientOptions { SingleUploadLimit = 4096, BlockSize = 1024 });
        var container = AzuriteFixture.NewContainer("exact");
        await client.CreateContainerIfNotExistsAsync(container);
        var payload = RandomBytes(4096, seed: 5);

        await client.UploadAsync(container, "exact.bin", new MemoryStream(payload));

        await using var stream = await client.OpenReadAsync(container, "exact.bin");
        Assert.Equal(payload, await ReadAllAsync(stream));
    }

    [Fact]
    public void BlockIds_AreBase64OfEqualLength()
    {
        var first = AzureBlobClient.BlockId(0);
        var last = AzureBlobClient.BlockId(49_999);

        Assert.Equal(first.Length, last.Length);
        Assert.Equal("block-000000", Encoding.ASCII.GetString(Convert.FromBase64String(first)));
        Assert.Equal("block-049999", Encoding.ASCII.GetString(Convert.FromBase64String(last)));
    }

    [Fact]
    public async Task ListAsync_WithSmallPages_FollowsMarkersAndHonoursThePrefix()
    {
        using var client = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("list");
        await client.CreateContainerIfNotExistsAsync(container);
        for (var i = 0; i < 7; i++)
        {
            await client.PutBlobAsync(container, $"in/item-{i}.jsonl", RandomBytes(i + 1, seed: i));
        }

        await client.PutBlobAsync(container, "out/other.jsonl", RandomBytes(3, seed: 9));

        var first = await client.ListPageAsync(container, "in/", maxResults: 3);
        Assert.Equal(3, first.Items.Count);
        Assert.NotNull(first.NextMarker);

        var all = new List<BlobItem>();
        await foreach (var item in client.ListAsync(container, "in/", pageSize: 3))
        {
            all.Add(item);
        }

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"in/item-{i}.jsonl"), all.Select(b => b.Name));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), all.Select(b => b.Size));
    }

    [Fact]
    public async Task GetProperties_OfAMissingBlob_IsNull_AndOpenReadIsNotFoundNamingContainerAndBlob()
    {
        using var client = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("missing");
        await client.CreateContainerIfNotExistsAsync(container);

        Assert.Null(await client.GetPropertiesAsync(container, "nope/model.onnx"));
        var ex = await Assert.ThrowsAsync<InferenceException>(() => client.OpenReadAsync(container, "nope/model.onnx"));

        Assert.Equal(ErrorCode.NotFound, ex.Code);
        Assert.Contains("nope/model.onnx", ex.Message);
        Assert.Contains(container, ex.Message);
        Assert.Contains("BlobNotFound", ex.Message);
    }

    [Fact]
    public async Task List_OfAMissingContainer_IsNotFoundSayingTheContainerDoesNotExist()
    {
        using var client = azurite.CreateClient();

        var ex = await Assert.ThrowsAsync<InferenceException>(() => client.ListPageAsync("no-such-container", null));

        Assert.Equal(ErrorCode.NotFound, ex.Code);
        Assert.Contains("Container 'no-such-container' does not exist", ex.Message);
    }

    [Fact]
    public async Task WrongAccountKey_IsStorageUnavailableSayingTheKeyWasRejected()
    {
        var wrongKey = Convert.ToBase64String(RandomBytes(64, seed: 6));
        using var client = new AzureBlobClient(azurite.BlobEndpoint, AzuriteFixture.Account, new SharedKeyAuthorizer(AzuriteFixture.Account, wrongKey));

        var ex = await Assert.ThrowsAsync<InferenceException>(() => client.GetPropertiesAsync("any", "model.onnx"));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Equal(502, ex.HttpStatus);
        Assert.Contains("rejected the Shared Key", ex.Message);
        // Azure says AuthenticationFailed, Azurite AuthorizationFailure; either way the code reaches the message.
        Assert.Matches(@"\(403 (AuthenticationFailed|AuthorizationFailure)", ex.Message);
        Assert.Contains("AccountKey", ex.Message);
    }

    [Fact]
    public async Task ServiceSas_ForAContainer_AllowsReadAndList()
    {
        using var owner = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("sas");
        await owner.CreateContainerIfNotExistsAsync(container);
        var payload = RandomBytes(5000, seed: 7);
        await owner.PutBlobAsync(container, "m/model.onnx", payload);
        var sas = SharedAccessSignatures.CreateServiceSas(AzuriteFixture.Account, AzuriteFixture.Key, container, null, "rl", DateTimeOffset.UtcNow.AddHours(1));
        using var client = new AzureBlobClient(azurite.BlobEndpoint, AzuriteFixture.Account, new SasAuthorizer("?" + sas));

        await using var stream = await client.OpenReadAsync(container, "m/model.onnx", offset: 10, length: 20);
        Assert.Equal(payload.AsSpan(10, 20).ToArray(), await ReadAllAsync(stream));
        var page = await client.ListPageAsync(container, "m/");
        Assert.Equal("m/model.onnx", Assert.Single(page.Items).Name);
    }

    [Fact]
    public async Task ServiceSas_ReadOnly_RefusesUploadsWithAPermissionMessage()
    {
        using var owner = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("sasro");
        await owner.CreateContainerIfNotExistsAsync(container);
        var sas = SharedAccessSignatures.CreateServiceSas(AzuriteFixture.Account, AzuriteFixture.Key, container, null, "r", DateTimeOffset.UtcNow.AddHours(1));
        using var client = new AzureBlobClient(azurite.BlobEndpoint, AzuriteFixture.Account, new SasAuthorizer(sas));

        var ex = await Assert.ThrowsAsync<InferenceException>(() => client.PutBlobAsync(container, "x.bin", new byte[] { 1 }));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains("rejected the SAS token", ex.Message);
        Assert.Contains("AuthorizationPermissionMismatch", ex.Message);
    }

    [Fact]
    public async Task ServiceSas_SignedWithAnotherKey_IsRejectedWithTheServiceErrorCode()
    {
        var container = AzuriteFixture.NewContainer("sasbad");
        var forged = SharedAccessSignatures.CreateServiceSas(AzuriteFixture.Account, Convert.ToBase64String(RandomBytes(64, seed: 8)), container, null, "rl", DateTimeOffset.UtcNow.AddHours(1));
        using var client = new AzureBlobClient(azurite.BlobEndpoint, AzuriteFixture.Account, new SasAuthorizer(forged));

        var ex = await Assert.ThrowsAsync<InferenceException>(() => client.ListPageAsync(container, null));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Matches(@"\(403 (AuthenticationFailed|AuthorizationFailure)", ex.Message);
        Assert.Contains("SAS token", ex.Message);
    }

    [Fact]
    public async Task AccountSas_AllowsUploadAndRead()
    {
        using var owner = azurite.CreateClient();
        var container = AzuriteFixture.NewContainer("acctsas");
        await owner.CreateContainerIfNotExistsAsync(container);
        var sas = SharedAccessSignatures.CreateAccountSas(AzuriteFixture.Account, AzuriteFixture.Key, "rwlc", "sco", DateTimeOffset.UtcNow.AddHours(1));
        using var client = new AzureBlobClient(azurite.BlobEndpoint, AzuriteFixture.Account, new SasAuthorizer(sas));
        var payload = RandomBytes(2048, seed: 10);

        await client.PutBlobAsync(container, "out/result.jsonl", payload);

        await using var stream = await client.OpenReadAsync(container, "out/result.jsonl");
        Assert.Equal(payload, await ReadAllAsync(stream));
    }

    [Fact]
    public async Task UnreachableEndpoint_IsStorageUnavailableNamingTheEndpoint()
    {
        using var client = new AzureBlobClient(new Uri("http://127.0.0.1:9/devstoreaccount1/"), AzuriteFixture.Account, new SharedKeyAuthorizer(AzuriteFixture.Account, AzuriteFixture.Key), options: new AzureBlobClientOptions { MaxRetries = 0 });

        var ex = await Assert.ThrowsAsync<InferenceException>(() => client.GetPropertiesAsync("c1", "b"));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains("127.0.0.1:9", ex.Message);
    }

    internal static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    internal static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>A stream that cannot seek or report its length, like a network body, so uploads cannot cheat.</summary>
    private sealed class NonSeekableStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            // Short reads on purpose: at most 7000 bytes at a time.
            var n = Math.Min(Math.Min(count, 7000), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
