using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Models;
using Serverless.Core.Onnx;
using Serverless.Core.Storage;
using Serverless.Core.Tests.Models.Fakes;
using Serverless.Core.Tests.Storage;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Hosting;

public sealed class ModelServicesTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly FakeSessionFactory _factory = new() { Manifests = ModelCatalog.LoadFromFolder(RepoPaths.Models) };

    public void Dispose() => _temp.Dispose();

    private ServerlessSettings Settings(string? modelsDir = null, string? store = null) => new()
    {
        ModelStore = store ?? "file://" + RepoPaths.ModelStore,
        CacheDirectory = _temp.Combine("cache"),
        MemoryBudgetBytes = 1L << 30,
        ModelsDirectory = modelsDir ?? RepoPaths.Models,
    };

    [Fact]
    public async Task Create_FromTheRepositoryModelsFolder_ServesEveryManifestFromTheLocalStore()
    {
        using var services = await ModelServices.CreateAsync(Settings(), _factory);

        Assert.Equal(["text-detection", "text-direction", "text-recognition", "voice-activity"], services.Repository.Manifests.Select(m => m.Name));
        using var lease = await services.Repository.AcquireAsync("text-direction", null, CancellationToken.None);
        Assert.Equal(RepoPaths.ModelFile("text-direction"), ((FakeSession)lease.Session).Path);

        // A local store's file is used where it is: nothing is copied into the cache (only the optimized-graph folder may appear).
        Assert.Empty(Directory.Exists(_temp.Combine("cache")) ? Directory.EnumerateDirectories(_temp.Combine("cache")).Where(d => Path.GetFileName(d) != "optimized") : []);
    }

    [Fact]
    public async Task Create_WithModelName_ServesOnlyThatModelAndOthersAreNotFound()
    {
        using var services = await ModelServices.CreateAsync(Settings() with { ModelName = "voice-activity" }, _factory);

        Assert.Equal("voice-activity", Assert.Single(services.Repository.Manifests).Name);
        var error = await Assert.ThrowsAsync<InferenceException>(() => services.Repository.AcquireAsync("text-direction", null, default).AsTask());
        Assert.Equal(ErrorCode.NotFound, error.Code);
    }

    [Fact]
    public async Task Create_WithAnUnknownModelName_ThrowsListingTheCatalog()
    {
        var error = await Assert.ThrowsAsync<InferenceException>(() => ModelServices.CreateAsync(Settings() with { ModelName = "nope" }, _factory));

        Assert.Contains("MODEL_NAME='nope'", error.Message);
        Assert.Contains("text-direction", error.Message);
    }

    [Fact]
    public async Task Create_WithAnUnknownPreloadName_Throws()
    {
        var error = await Assert.ThrowsAsync<InferenceException>(() => ModelServices.CreateAsync(Settings() with { Preload = ["nope"] }, _factory));

        Assert.Contains("MODEL_PRELOAD", error.Message);
        Assert.Contains("'nope'", error.Message);
    }

    [Fact]
    public async Task Preload_LoadsTheNamedModelsAndReportsFailuresAsStatuses()
    {
        _factory.FailWith = name => name == "voice-activity" ? new InferenceException(ErrorCode.RuntimeFailure, "broken") : null;
        using var services = await ModelServices.CreateAsync(Settings() with { Preload = ["text-direction", "voice-activity"] }, _factory);

        var statuses = await services.PreloadAsync();

        Assert.Equal(ModelState.Ready, statuses.Single(s => s.Name == "text-direction").State);
        var failed = statuses.Single(s => s.Name == "voice-activity");
        Assert.Equal(ModelState.Failed, failed.State);
        Assert.Equal("broken", failed.Reason);
        Assert.Equal(ModelState.Unavailable, services.Registry.GetStatus("text-detection").State);
        Assert.True(statuses.Single(s => s.Name == "text-direction").Loaded);
    }

    [Fact]
    public async Task Create_WithoutAModelsFolder_ReadsTheManifestsPublishedInTheStore()
    {
        var store = new LocalObjectStore(_temp.Combine("published"));
        var manifests = ModelCatalog.LoadFromFolder(RepoPaths.Models).Where(m => m.Name == "text-direction").ToList();
        await new ModelPublisher(new LocalObjectStore(RepoPaths.ModelStore), store).PublishAsync(manifests);

        using var services = await ModelServices.CreateAsync(Settings(store: store.Root) with { ModelsDirectory = null }, _factory);

        Assert.Equal("text-direction", Assert.Single(services.Repository.Manifests).Name);
        await services.Repository.LoadAsync("text-direction", default);
    }

    [Fact]
    public async Task Create_WithAnEmptyStoreAndNoModelsFolder_ThrowsSayingHowToPublish()
    {
        Directory.CreateDirectory(_temp.Combine("empty"));

        var error = await Assert.ThrowsAsync<InferenceException>(() => ModelServices.CreateAsync(Settings(store: _temp.Combine("empty")) with { ModelsDirectory = null }, _factory));

        Assert.Contains("No models found", error.Message);
        Assert.Contains("publish", error.Message);
    }

    [Fact]
    public async Task Create_WithAFolderOfBareOnnxFiles_DerivesManifestsFromTheRealModels()
    {
        Environment.SetEnvironmentVariable("SERVERLESS_ORT_LIBRARY", Environment.GetEnvironmentVariable("SERVERLESS_ORT_LIBRARY") ?? RepoPaths.OrtLibrary);
        var folder = _temp.Combine("bare");
        Directory.CreateDirectory(folder);
        File.Copy(RepoPaths.ModelFile("text-direction"), Path.Combine(folder, "TextDirection-v2.onnx"));

        using var services = await ModelServices.CreateAsync(Settings(modelsDir: folder), OnnxSessionFactory.Instance);

        var manifest = Assert.Single(services.Repository.Manifests);
        var reference = ModelCatalog.LoadFromFolder(RepoPaths.Models).Single(m => m.Name == "text-direction");
        Assert.Equal("TextDirection-v2", manifest.Name);
        Assert.Equal(reference.Versions[0].Sha256, manifest.Versions[0].Sha256);
        Assert.Equal(reference.Versions[0].Size, manifest.Versions[0].Size);
        Assert.Equal("x", manifest.Inputs[0].Name);
        Assert.Equal("FP32", manifest.Inputs[0].Datatype);
        Assert.Equal("softmax_0.tmp_0", manifest.Outputs[0].Name);
        using var lease = await services.Repository.AcquireAsync("TextDirection-v2", null, default);
        Assert.Equal("x", lease.Session.Inputs[0].Name);
    }

    [Fact]
    public async Task Create_WithAFolderHoldingAFileOrtCannotLoad_ServesTheOthersAndListsItAsFailed()
    {
        Environment.SetEnvironmentVariable("SERVERLESS_ORT_LIBRARY", Environment.GetEnvironmentVariable("SERVERLESS_ORT_LIBRARY") ?? RepoPaths.OrtLibrary);
        var folder = _temp.Combine("mixed");
        Directory.CreateDirectory(folder);
        File.Copy(RepoPaths.ModelFile("text-direction"), Path.Combine(folder, "Good.onnx"));
        File.WriteAllBytes(Path.Combine(folder, "Broken.onnx"), TestModels.TinyModels.Broken());
        File.WriteAllBytes(Path.Combine(folder, "bad name.onnx"), TestModels.TinyModels.Broken());

        using var services = await ModelServices.CreateAsync(Settings(modelsDir: folder) with { PreloadAll = true }, OnnxSessionFactory.Instance);

        Assert.Equal(["Broken", "Good"], services.Repository.Manifests.Select(m => m.Name));
        Assert.Equal("Broken", Assert.Single(services.Unloadable).Name);
        Assert.Contains("bad name.onnx", Assert.Single(services.Skipped).Reason);
        Assert.Equal(["Good"], services.PreloadNames);
        var status = services.Repository.GetStatus("Broken");
        Assert.Equal(ModelState.Failed, status.State);
        var error = await Assert.ThrowsAsync<InferenceException>(async () => await services.Repository.AcquireAsync("Broken", null, default));
        Assert.Equal(503, error.HttpStatus);
        Assert.Contains(Path.Combine(folder, "Broken.onnx"), error.Message);
        Assert.Contains("ORT_INVALID_PROTOBUF", error.Message);
        using var lease = await services.Repository.AcquireAsync("Good", null, default);
        Assert.Equal("x", lease.Session.Inputs[0].Name);
    }
}
