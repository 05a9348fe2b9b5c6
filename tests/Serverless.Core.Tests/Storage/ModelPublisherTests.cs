using System.Security.Cryptography;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Storage;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Storage;

public sealed class ModelPublisherTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly byte[] _bytes = RandomNumberGenerator.GetBytes(500_000);
    private readonly ModelManifest _manifest;

    public ModelPublisherTests()
    {
        _temp.Write("src/m/1/model.onnx", _bytes);
        _manifest = new ModelManifest
        {
            Name = "m",
            DefaultVersion = "1",
            Versions = [new ModelVersionManifest { Version = "1", Artifact = "m/1/model.onnx", Sha256 = Convert.ToHexStringLower(SHA256.HashData(_bytes)), Size = _bytes.Length }],
        };
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Publish_UploadsArtifactThenManifestAndReportsProgress()
    {
        var destination = new LocalObjectStore(_temp.Combine("dst"));
        var reports = new List<TransferProgress>();

        var result = await new ModelPublisher(new LocalObjectStore(_temp.Combine("src")), destination).PublishAsync([_manifest], new SyncProgress(reports.Add));

        Assert.Equal(["m/1/model.onnx", "m/model.json"], result.Uploaded);
        Assert.Empty(result.Skipped);
        Assert.Equal(_bytes, File.ReadAllBytes(_temp.Combine("dst", "m", "1", "model.onnx")));
        Assert.Equal("m", Assert.Single(await ModelCatalog.LoadFromStoreAsync(destination, default)).Name);
        Assert.Contains(reports, r => r.Stage == TransferStage.Verifying);
        var uploads = reports.Where(r => r.Stage == TransferStage.Uploading).Select(r => r.BytesDone).ToList();
        Assert.NotEmpty(uploads);
        Assert.Equal(uploads.Order(), uploads);
        Assert.Equal(new TransferProgress("m/1/model.onnx", _bytes.Length, _bytes.Length, TransferStage.Completed), reports.First(r => r.Stage == TransferStage.Completed));
    }

    [Fact]
    public async Task Publish_Twice_SkipsTheArtifactAlreadyPresent()
    {
        var destination = new CountingObjectStore(new LocalObjectStore(_temp.Combine("dst")));
        var publisher = new ModelPublisher(new LocalObjectStore(_temp.Combine("src")), destination);
        await publisher.PublishAsync([_manifest]);
        var reports = new List<TransferProgress>();

        var result = await publisher.PublishAsync([_manifest], new SyncProgress(reports.Add));

        Assert.Equal(["m/1/model.onnx"], result.Skipped);
        Assert.Equal(["m/model.json"], result.Uploaded);
        Assert.Contains(reports, r => r.Stage == TransferStage.Skipped && r.Key == "m/1/model.onnx");
    }

    [Fact]
    public async Task Publish_WithACorruptLocalArtifact_RefusesAndUploadsNothing()
    {
        var corrupt = _bytes.ToArray();
        corrupt[10] ^= 1;
        _temp.Write("src/m/1/model.onnx", corrupt);
        var destination = new LocalObjectStore(_temp.Combine("dst"));

        var error = await Assert.ThrowsAsync<InferenceException>(() => new ModelPublisher(new LocalObjectStore(_temp.Combine("src")), destination).PublishAsync([_manifest]));

        Assert.Equal(ErrorCode.IntegrityFailure, error.Code);
        Assert.Contains(_manifest.Versions[0].Sha256, error.Message);
        Assert.False(Directory.Exists(_temp.Combine("dst", "m")));
    }

    [Theory]
    [InlineData("text-detection")]
    [InlineData("text-recognition")]
    public async Task Publish_ARepositoryModelWithAnInt8Default_UploadsBothVersionsAndTheManifestNamingTheDefault(string name)
    {
        var manifest = ModelCatalog.LoadFromFolder(RepoPaths.Models).Single(m => m.Name == name);
        Assert.Equal(["1", "2"], manifest.Versions.Select(v => v.Version));
        var destination = new LocalObjectStore(_temp.Combine("dst"));

        var result = await new ModelPublisher(new LocalObjectStore(RepoPaths.ModelStore), destination).PublishAsync([manifest]);

        Assert.Equal([$"{name}/1/model.onnx", $"{name}/2/model.onnx", $"{name}/model.json"], result.Uploaded);
        Assert.Equal(manifest.Versions.Sum(v => v.Size), result.BytesUploaded - ModelCatalog.Serialize(manifest).Length);
        foreach (var version in manifest.Versions)
        {
            var bytes = File.ReadAllBytes(_temp.Combine("dst", name, version.Version, "model.onnx"));
            Assert.Equal(version.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }

        var published = Assert.Single(await ModelCatalog.LoadFromStoreAsync(destination, default));
        Assert.Equal("2", published.DefaultVersion);
        Assert.Equal(["fp32", "int8"], published.Versions.Select(v => v.Precision));
        Assert.Equal("int8", published.FindVersion(null)!.Precision);
    }

    [Fact]
    public async Task Publish_WhenTheSecondVersionIsMissingLocally_FailsNamingItAndPublishesNoManifest()
    {
        var int8 = RandomNumberGenerator.GetBytes(1000);
        var manifest = _manifest with
        {
            DefaultVersion = "2",
            Versions = [.. _manifest.Versions, new ModelVersionManifest { Version = "2", Artifact = "m/2/model.onnx", Sha256 = Convert.ToHexStringLower(SHA256.HashData(int8)), Size = int8.Length, Precision = "int8" }],
        };
        var destination = new LocalObjectStore(_temp.Combine("dst"));

        var error = await Assert.ThrowsAsync<InferenceException>(() => new ModelPublisher(new LocalObjectStore(_temp.Combine("src")), destination).PublishAsync([manifest]));

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Contains("m/2/model.onnx", error.Message);
        Assert.False(File.Exists(_temp.Combine("dst", "m", "model.json")));
        Assert.Empty(await ModelCatalog.LoadFromStoreAsync(destination, default));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests want reports in order, at once.</summary>
    private sealed class SyncProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
