using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Tests.Azurite;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Storage.AzureBlob.Tests.Store;

[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobObjectStoreTests(AzuriteFixture azurite, ITestOutputHelper output) : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("azblob-cache-").FullName;

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    [Fact]
    public async Task Resolver_WithAzblobScheme_UsesTheConnectionStringAccountAndStripsThePrefixWhenListing()
    {
        var container = await azurite.CreateContainerAsync("resolve");
        var resolver = AzureBlobObjectStore.Register(new ObjectStoreResolver(), Settings());
        var store = resolver.Resolve($"azblob://{container.Name}/store/v1");

        await store.PutAsync("a/model.onnx", new MemoryStream([1, 2, 3]));
        await store.PutAsync("b/model.json", new MemoryStream("{}"u8.ToArray()), "application/json");

        Assert.Equal($"azblob://{container.Name}/store/v1", store.Root);
        var azure = Assert.IsType<AzureBlobObjectStore>(store);
        Assert.Equal("store/v1/a/model.onnx", azure.BlobName("a/model.onnx"));
        var listed = new List<ObjectProperties>();
        await foreach (var item in store.ListAsync(""))
        {
            listed.Add(item);
        }

        Assert.Equal(["a/model.onnx", "b/model.json"], listed.Select(p => p.Key));
        Assert.All(listed, p => Assert.False(string.IsNullOrEmpty(p.ETag)));
        var properties = await store.GetPropertiesAsync("a/model.onnx", CancellationToken.None);
        Assert.Equal(3, properties!.Size);
        Assert.Null(await store.GetPropertiesAsync("missing.onnx", CancellationToken.None));
        await using var partial = await store.OpenReadAsync("a/model.onnx", offset: 1, length: 2);
        Assert.Equal(new byte[] { 2, 3 }, await ReadAllAsync(partial));
        BlobProperties written = await container.GetBlobClient("store/v1/b/model.json").GetPropertiesAsync();
        Assert.Equal("application/json", written.ContentType);
    }

    [Fact]
    public async Task OpenRead_FromTheEndOfABlob_ReadsNothingInsteadOfFailing()
    {
        var container = await azurite.CreateContainerAsync("atend");
        var store = new AzureBlobObjectStore(container);
        await store.PutAsync("x.jsonl", new MemoryStream("{}\n"u8.ToArray()));

        await using var rest = await store.OpenReadAsync("x.jsonl", offset: 3);

        Assert.Empty(await ReadAllAsync(rest));
    }

    [Fact]
    public async Task Put_WithAnUnseekableStreamLargerThanOneBlock_StoresEveryByteInOrder()
    {
        var container = await azurite.CreateContainerAsync("large");
        var store = new AzureBlobObjectStore(container, "big");
        var bytes = new byte[9 * 1024 * 1024 + 17];
        new Random(7).NextBytes(bytes);

        await store.PutAsync("blob.bin", new UnseekableStream(bytes), "application/octet-stream");

        await using var read = await store.OpenReadAsync("blob.bin");
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await ReadAllAsync(read)));
    }

    [Fact]
    public async Task Factory_WithAPathStyleUrlAndSas_ReadsWithTheSasAndKeepsItOutOfTheRoot()
    {
        var container = await azurite.CreateContainerAsync("sasurl");
        await container.GetBlobClient("p/x.bin").UploadAsync(new BinaryData(new byte[] { 9, 8, 7 }));
        var sas = container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1));

        var store = AzureBlobStoreFactory.Create(new Uri($"{sas.GetLeftPart(UriPartial.Path)}/p{sas.Query}"), _ => null);

        Assert.DoesNotContain("sig=", store.Root);
        Assert.Equal("p", store.Prefix);
        await using var stream = await store.OpenReadAsync("x.bin");
        Assert.Equal(new byte[] { 9, 8, 7 }, await ReadAllAsync(stream));
        var refused = await Assert.ThrowsAsync<InferenceException>(() => store.PutAsync("y.bin", new MemoryStream([1])));
        Assert.Equal(ErrorCode.StorageUnavailable, refused.Code);
        Assert.Contains("403", refused.Message);
    }

    [Fact]
    public async Task Store_WithAWrongAccountKey_FailsNamingTheAccountTheStatusAndTheFix()
    {
        var container = await azurite.CreateContainerAsync("wrongkey");
        var wrong = azurite.ConnectionString.Replace(AzuriteFixture.Key, Convert.ToBase64String(new byte[64]));
        var store = AzureBlobStoreFactory.Create(new Uri($"azblob://{container.Name}/m"), name => name == AzureBlobStoreFactory.ConnectionSetting ? wrong : null);

        var ex = await Assert.ThrowsAsync<InferenceException>(() => store.GetPropertiesAsync("model.onnx", CancellationToken.None));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains(AzuriteFixture.Account, ex.Message);
        Assert.Contains("403", ex.Message);
        Assert.Contains("AccountKey", ex.Message);
    }

    [Fact]
    public async Task Store_InAMissingContainer_IsNotFoundNamingTheContainer()
    {
        var name = AzuriteFixture.NewContainer("absent");
        var store = new AzureBlobObjectStore(azurite.CreateClient().GetBlobContainerClient(name));

        var ex = await Assert.ThrowsAsync<InferenceException>(() => store.OpenReadAsync("model.onnx"));

        Assert.Equal(ErrorCode.NotFound, ex.Code);
        Assert.Contains(name, ex.Message);
    }

    [Fact]
    public void Factory_WithAHostStyleUrl_TakesAccountFromTheHostAndContainerFromThePath()
    {
        var store = AzureBlobStoreFactory.Create(new Uri("https://mystore.blob.core.windows.net/models/prod/v2"), _ => null);

        Assert.Equal("mystore", store.Container.AccountName);
        Assert.Equal(new Uri("https://mystore.blob.core.windows.net/models"), store.Container.Uri);
        Assert.Equal("models", store.Container.Name);
        Assert.Equal("prod/v2", store.Prefix);
        Assert.Equal("https://mystore.blob.core.windows.net/models/prod/v2", store.Root);
    }

    [Fact]
    public void Factory_WithAzblobAndAnIdentityBasedAccountName_AddressesThatAccount()
    {
        var store = AzureBlobStoreFactory.Create(new Uri("azblob://models"), name => name == AzureBlobStoreFactory.AccountNameSetting ? "mystore" : null);

        Assert.Equal("mystore", store.Container.AccountName);
        Assert.Equal(new Uri("https://mystore.blob.core.windows.net/models"), store.Container.Uri);
        Assert.Equal("", store.Prefix);
    }

    [Fact]
    public async Task Store_WhenNoCredentialGetsAToken_FailsListingTheWaysToAuthorize()
    {
        // The credential is asked for a token before any request is sent, so this reaches no network.
        var store = AzureBlobStoreFactory.Create(new Uri("https://mystore.blob.core.windows.net/models"), _ => null, new UnavailableCredential());

        var ex = await Assert.ThrowsAsync<InferenceException>(() => store.GetPropertiesAsync("m/1/model.onnx", CancellationToken.None));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains("mystore", ex.Message);
        Assert.Contains("managed identity", ex.Message);
        Assert.Contains("AzureWebJobsStorage", ex.Message);
        Assert.Contains("SAS", ex.Message);
        Assert.Contains(UnavailableCredential.Why, ex.Message);
    }

    [Fact]
    public void Factory_WithAzblobButNoAccountSetting_FailsNamingTheSettings()
    {
        var ex = Assert.Throws<InferenceException>(() => AzureBlobStoreFactory.Create(new Uri("azblob://models/x"), _ => null));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains("AzureWebJobsStorage__accountName", ex.Message);
    }

    [Fact]
    public void Store_RejectsKeysThatClimbOutOfThePrefix()
    {
        var store = new AzureBlobObjectStore(azurite.CreateClient().GetBlobContainerClient("models"), "tenant-a");

        var ex = Assert.Throws<InferenceException>(() => store.BlobName("../tenant-b/model.onnx"));

        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("..", ex.Message);
    }

    [Fact]
    public async Task VerifiedCache_WithACorruptArtifactInAzure_FailsWithIntegrityFailureAndKeepsNothing()
    {
        var container = await PublishAsync("corrupt", corrupt: true);
        using var services = await CreateServicesAsync(container);

        var ex = await Assert.ThrowsAsync<InferenceException>(async () => await services.Registry.AcquireAsync("text-direction", null, CancellationToken.None));

        Assert.Equal(ErrorCode.IntegrityFailure, ex.Code);
        Assert.Contains("text-direction", ex.Message);
        Assert.Empty(Directory.EnumerateFiles(_cache, "*.onnx", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task TextDirection_FromAzurite_LoadsInTheRealRuntimeAndAnswersTheFirstInfer()
    {
        var container = await PublishAsync("textdir", corrupt: false);
        using var services = await CreateServicesAsync(container);
        var handler = new ProtocolHandler(services.Repository);
        var body = Encoding.UTF8.GetBytes(InferBody());

        var watch = Stopwatch.StartNew();
        using var first = new BufferedProtocolResponse();
        await handler.HandleAsync(ProtocolRequest.FromBytes("POST", "/v2/models/text-direction/infer", body, "application/json"), first);
        var firstMs = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        using var second = new BufferedProtocolResponse();
        await handler.HandleAsync(ProtocolRequest.FromBytes("POST", "/v2/models/text-direction/infer", body, "application/json"), second);
        var secondMs = watch.Elapsed.TotalMilliseconds;

        var json = Encoding.UTF8.GetString(first.BodyMemory.Span);
        Assert.True(first.StatusCode == 200, json);
        Assert.Contains("\"softmax_0.tmp_0\"", json);
        Assert.Contains("[1,2]", json.Replace(" ", ""));
        Assert.Equal(200, second.StatusCode);
        // One verified download (the optimized-graph cache keeps ORT's optimized graph beside it, under optimized/).
        Assert.Single(Directory.EnumerateFiles(Path.Combine(_cache, "text-direction"), "*.onnx", SearchOption.AllDirectories));
        Assert.Single(Directory.EnumerateFiles(Path.Combine(_cache, "optimized"), "text-direction-*.onnx"));
        output.WriteLine($"text-direction from Azurite: first request (download + verify + load + infer) {firstMs:F0} ms, second {secondMs:F1} ms");
        Console.WriteLine($"[azure-blob] text-direction first request from Azurite: {firstMs:F0} ms; warm: {secondMs:F1} ms");
    }

    private Func<string, string?> Settings() => name => name == AzureBlobStoreFactory.ConnectionSetting ? azurite.ConnectionString : null;

    /// <summary>Uploads text-direction's artifact (optionally with one byte flipped, same size) to a fresh container.</summary>
    private async Task<string> PublishAsync(string hint, bool corrupt)
    {
        var container = await azurite.CreateContainerAsync(hint);
        var bytes = await File.ReadAllBytesAsync(RepoPaths.ModelFile("text-direction"));
        if (corrupt)
        {
            bytes[bytes.Length / 2] ^= 0xFF;
        }

        await container.GetBlobClient("store/text-direction/1/model.onnx").UploadAsync(new BinaryData(bytes));
        return container.Name;
    }

    private Task<ModelServices> CreateServicesAsync(string container)
    {
        var settings = new ServerlessSettings
        {
            ModelStore = $"azblob://{container}/store",
            CacheDirectory = _cache,
            MemoryBudgetBytes = 1L << 30,
            ModelsDirectory = RepoPaths.Models,
            ModelName = "text-direction",
        };
        return ModelServices.CreateAsync(settings, OnnxSessionFactory.Instance, AzureBlobObjectStore.Register(new ObjectStoreResolver(), Settings()));
    }

    private static string InferBody()
    {
        var sb = new StringBuilder("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3,48,192],\"datatype\":\"FP32\",\"data\":[");
        for (var i = 0; i < 3 * 48 * 192; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append(((i % 17) / 17.0).ToString("F3", System.Globalization.CultureInfo.InvariantCulture));
        }

        return sb.Append("]}]}").ToString();
    }

    internal static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>A stream that can only be read forward, like the batch scorer's concatenated parts.</summary>
    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    /// <summary>The narrow seam for identity-based access: a credential that, like an app without an identity, gets no token.</summary>
    private sealed class UnavailableCredential : TokenCredential
    {
        public const string Why = "ManagedIdentityCredential authentication unavailable (test).";

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw new CredentialUnavailableException(Why);

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw new CredentialUnavailableException(Why);
    }
}
