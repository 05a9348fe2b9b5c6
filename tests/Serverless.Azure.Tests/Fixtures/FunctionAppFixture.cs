using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Azure.Batch;
using Serverless.Azure.Functions;
using Serverless.Azure.Hosting;
using Serverless.Tests.Azurite;
using Serverless.Tests.Shared;

namespace Serverless.Azure.Tests.Fixtures;

/// <summary>
/// Real Azurite holding text-direction's artifact under <c>models/store</c>, and the function classes built
/// over it exactly as the worker's DI container builds them (<see cref="ServiceCollectionExtensions"/>).
/// Each app gets its own model cache, so every first request downloads and verifies from Azurite.
/// </summary>
public sealed class FunctionAppFixture : IAsyncLifetime
{
    public const string ModelContainer = "models";

    private readonly List<string> _folders = [];
    private readonly List<AzureModelHost> _hosts = [];

    public AzuriteFixture Azurite { get; } = new();

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        var models = Azurite.CreateClient().GetBlobContainerClient(ModelContainer);
        await models.CreateIfNotExistsAsync();
        await models.GetBlobClient("store/text-direction/1/model.onnx").UploadAsync(RepoPaths.ModelFile("text-direction"), overwrite: true);
    }

    /// <summary>The settings a deployed app would have, with <paramref name="overrides"/> applied (a null value removes a setting).</summary>
    public FakeEnvironment Environment(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var cache = Directory.CreateTempSubdirectory("azure-app-").FullName;
        _folders.Add(cache);
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["MODEL_STORE"] = $"azblob://{ModelContainer}/store",
            ["MODEL_CACHE_DIR"] = cache,
            ["SERVERLESS_MODELS_DIR"] = RepoPaths.Models,
        };
        foreach (var (name, value) in overrides ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                settings.Remove(name);
            }
            else
            {
                settings[name] = value;
            }
        }

        return new FakeEnvironment(settings, cache);
    }

    public AzureModelHost CreateHost(FakeEnvironment environment)
    {
        var host = new AzureModelHost(environment, NullLogger<AzureModelHost>.Instance);
        _hosts.Add(host);
        return host;
    }

    public ProtocolFunctions CreateProtocolFunctions(IReadOnlyDictionary<string, string?>? overrides = null) =>
        new(new ProtocolEndpoint(CreateHost(Environment(overrides))));

    public BatchFunction CreateBatchFunction(AzureBatchSettings? settings = null, IReadOnlyDictionary<string, string?>? overrides = null) =>
        new(new BlobBatchService(CreateHost(Environment(overrides)), settings ?? new AzureBatchSettings(), NullLogger<BlobBatchService>.Instance));

    /// <summary>A fresh container for batch files, as the trigger's container would be.</summary>
    public Task<BlobContainerClient> CreateBatchContainerAsync() => Azurite.CreateContainerAsync("batch");

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await Azurite.DisposeAsync();
        foreach (var folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
