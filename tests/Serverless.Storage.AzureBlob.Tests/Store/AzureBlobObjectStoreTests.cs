using System.Diagnostics;
using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Storage.AzureBlob.Auth;
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
        var container = AzuriteFixture.NewContainer("resolve");
        using (var client = azurite.CreateClient())
        {
            await client.CreateContainerIfNotExistsAsync(container);
        }

        var resolver = AzureBlobObjectStore.Register(new ObjectStoreResolver(), Settings());
        var store = resolver.Resolve($"azblob://{container}/store/v1");

        await store.PutAsync("a/model.onnx", new MemoryStream([1, 2, 3]));
        await store.PutAsync("b/model.json", new MemoryStream("{}"u8.ToArray()), "application/json");

        Assert.Equal($"azblob://{container}/store/v1", store.Root);
        var azure = Assert.IsType<AzureBlobObjectStore>(store);
        Assert.Equal("store/v1/a/model.onnx", azure.BlobName("a/model.onnx"));
        var listed = new List<ObjectProperties>();
        await foreach (var item in store.ListAsync(""))
        {
            listed.Add(item);
        }

        Assert.Equal(["a/model.onnx", "b/model.json"], listed.Select(p => p.Key));
        var properties = await store.GetPropertiesAsync("a/model.onnx", CancellationToken.None);
        Assert.Equal(3, properties!.Size);
        Assert.Null(await store.GetPropertiesAsync("missing.onnx", CancellationToken.None));
        await using var partial = await store.OpenReadAsync("a/model.onnx", offset: 1, length: 2);
        Assert.Equal(new byte[] { 2, 3 }, await Client.AzureBlobClientTests.ReadAllAsync(partial));
    }

    [Fact]
    public async Task Factory_WithAPathStyleUrlAndSas_ReadsWithTheSasAndKeepsItOutOfTheRoot()
    {
        var container = AzuriteFixture.NewContainer("sasurl");
        using (var client = azurite.CreateClient())
        {
            await client.CreateContainerIfNotExistsAsync(container);
            await client.PutBlobAsync(container, "p/x.bin", new byte[] { 9, 8, 7 });
        }

        var sas = SharedAccessSignatures.CreateServiceSas(AzuriteFixture.Account, AzuriteFixture.Key, container, null, "rl", DateTimeOffset.UtcNow.AddHours(1));
        var store = AzureBlobStoreFactory.Create(new Uri($"{azurite.BlobEndpoint}{container}/p?{sas}"), _ => null);

        Assert.Equal("SAS token", store.Client.CredentialKind);
        Assert.DoesNotContain("sig=", store.Root);
        await using var stream = await store.OpenReadAsync("x.bin");
        Assert.Equal(new byte[] { 9, 8, 7 }, await Client.AzureBlobClientTests.ReadAllAsync(stream));
    }

    [Fact]
    public void Factory_WithAHostStyleUrl_TakesAccountFromTheHostAndContainerFromThePath()
    {
        var store = AzureBlobStoreFactory.Create(new Uri("https://mystore.blob.core.windows.net/models/prod/v2"), name => name switch
        {
            "IDENTITY_ENDPOINT" => "http://127.0.0.1:1/msi/token",
            "IDENTITY_HEADER" => "secret",
            _ => null,
        });

        Assert.Equal("mystore", store.Client.AccountName);
        Assert.Equal(new Uri("https://mystore.blob.core.windows.net/"), store.Client.Endpoint);
        Assert.Equal("models", store.Container);
        Assert.Equal("prod/v2", store.Prefix);
        Assert.Equal("managed identity", store.Client.CredentialKind);
    }

    [Fact]
    public void Factory_WithAzblobAndAnIdentityBasedAccountName_UsesManagedIdentity()
    {
        var store = AzureBlobStoreFactory.Create(new Uri("azblob://models"), name => name switch
        {
            AzureBlobStoreFactory.AccountNameSetting => "mystore",
            "IDENTITY_ENDPOINT" => "http://127.0.0.1:1/msi/token",
            "IDENTITY_HEADER" => "secret",
            _ => null,
        });

        Assert.Equal("mystore", store.Client.AccountName);
        Assert.Equal("managed identity", store.Client.CredentialKind);
        Assert.Equal("", store.Prefix);
    }

    [Fact]
    public void Factory_WithoutAnyCredential_FailsListingTheThreeWaysToAuthorize()
    {
        var ex = Assert.Throws<InferenceException>(() => AzureBlobStoreFactory.Create(new Uri("https://mystore.blob.core.windows.net/models"), _ => null));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains("mystore", ex.Message);
        Assert.Contains("AzureWebJobsStorage", ex.Message);
        Assert.Contains("SAS", ex.Message);
        Assert.Contains("managed identity", ex.Message);
    }

    [Fact]
    public void Factory_WithAzblobButNoAccountSetting_FailsNamingTheSettings()
    {
        var ex = Assert.Throws<InferenceException>(() => AzureBlobStoreFactory.Create(new Uri("azblob://models/x"), _ => null));

        Assert.Contains("AzureWebJobsStorage__accountName", ex.Message);
    }

    [Fact]
    public void Store_RejectsKeysThatClimbOutOfThePrefix()
    {
        using var client = azurite.CreateClient();
        var store = new AzureBlobObjectStore(client, "models", "tenant-a");

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
        var container = AzuriteFixture.NewContainer(hint);
        using var client = azurite.CreateClient();
        await client.CreateContainerIfNotExistsAsync(container);
        var bytes = await File.ReadAllBytesAsync(RepoPaths.ModelFile("text-direction"));
        if (corrupt)
        {
            bytes[bytes.Length / 2] ^= 0xFF;
        }

        await client.UploadAsync(container, "store/text-direction/1/model.onnx", new MemoryStream(bytes));
        return container;
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
}
