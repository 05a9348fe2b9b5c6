using Serverless.Core.Models;
using Serverless.Infra.Placement;

namespace Serverless.Infra.Tests.Placement;

public sealed class ModelPlacementTests
{
    private const long Mb = 1024 * 1024;

    private static ModelManifest Model(int memoryMb = 512, bool gpu = false, params long[] sizes) => new()
    {
        Name = "m",
        DefaultVersion = "1",
        MemoryMb = memoryMb,
        Gpu = gpu,
        Versions = [.. (sizes.Length == 0 ? [4096L] : sizes).Select((s, i) => new ModelVersionManifest
        {
            Version = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            Artifact = $"m/{i + 1}/model.onnx",
            Sha256 = new string('0', 64),
            Size = s,
        })],
    };

    [Fact]
    public void SmallCpuModel_GoesToLambda()
    {
        Assert.Equal(ModelTarget.Lambda, ModelPlacement.Place(Model(256)));
        Assert.Null(ModelPlacement.HeavyReason(Model(256)));
    }

    [Fact]
    public void GpuFlag_MakesAnyModelHeavy()
    {
        Assert.Equal(ModelTarget.GpuService, ModelPlacement.Place(Model(128, gpu: true)));
        Assert.Equal("manifest sets gpu: true", ModelPlacement.HeavyReason(Model(128, gpu: true)));
    }

    [Theory]
    [InlineData(10_240, false)]
    [InlineData(10_241, true)]
    public void Memory_AboveTheLambdaCeiling_IsHeavy(int memoryMb, bool heavy)
    {
        Assert.Equal(heavy, ModelPlacement.IsHeavy(Model(memoryMb)));
    }

    [Theory]
    [InlineData(5120 * Mb, false)]
    [InlineData((5120 * Mb) + 1, true)]
    public void Artifact_WhoseTwoCopiesExceedTmp_IsHeavy(long size, bool heavy)
    {
        Assert.Equal(heavy, ModelPlacement.IsHeavy(Model(1024, false, size)));
    }

    [Fact]
    public void LargestVersion_DecidesPlacement()
    {
        var model = Model(1024, false, 10 * Mb, 6000 * Mb);

        Assert.True(ModelPlacement.IsHeavy(model));
        Assert.Contains("x2 (download + cache)", ModelPlacement.HeavyReason(model));
    }

    [Fact]
    public void BundledArtifact_Over250Mb_IsHeavyOnlyWhenBundled()
    {
        var model = Model(2048, false, 251 * Mb);

        Assert.False(ModelPlacement.IsHeavy(model));
        Assert.True(ModelPlacement.IsHeavy(model, bundled: true));
        Assert.Contains("250 MB unzipped package", ModelPlacement.HeavyReason(model, bundled: true));
    }

    [Theory]
    [InlineData(64, 128)]
    [InlineData(256, 256)]
    [InlineData(20_000, 10_240)]
    public void LambdaMemory_IsClampedToLambdasRange(int manifest, int expected)
    {
        Assert.Equal(expected, ModelPlacement.LambdaMemoryMb(Model(manifest)));
    }

    [Theory]
    [InlineData(4096L, 512)]
    [InlineData(1024 * Mb, 2304)]
    [InlineData(5000 * Mb, 10_240)]
    public void EphemeralStorage_HoldsTwoCopiesPlusHeadroomWithinLambdasRange(long size, int expected)
    {
        Assert.Equal(expected, ModelPlacement.EphemeralStorageMb(Model(1024, false, size)));
    }

    [Fact]
    public void MemoryBudget_LeavesAQuarterForTheRuntime()
    {
        Assert.Equal(768, ModelPlacement.MemoryBudgetMb(Model(1024)));
    }
}
