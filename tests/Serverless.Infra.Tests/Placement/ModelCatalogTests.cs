using Serverless.Infra.Configuration;
using Serverless.Infra.Placement;
using Serverless.Infra.Tests.Fixtures;
using Serverless.Tests.Shared;

namespace Serverless.Infra.Tests.Placement;

public sealed class ModelCatalogTests : IDisposable
{
    private readonly TestWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void Load_SplitsLightAndHeavyModelsSortedByName()
    {
        _workspace.AddModel("zeta", 256).AddModel("alpha", 1024).AddModel("big", 20_000);

        var catalog = ModelCatalog.Load(_workspace.ModelsDirectory);

        Assert.Equal(["alpha", "big", "zeta"], catalog.All.Select(m => m.Name));
        Assert.Equal(["alpha", "zeta"], catalog.Light.Select(m => m.Name));
        Assert.Equal(["big"], catalog.Heavy.Select(m => m.Name));
    }

    [Fact]
    public void Load_TheRepositoryManifests_PutsEveryShippedModelOnLambda()
    {
        var catalog = ModelCatalog.Load(RepoPaths.Models);

        Assert.NotEmpty(catalog.Light);
        Assert.Empty(catalog.Heavy);
        Assert.Contains(catalog.Light, m => m.Name == "text-direction");
    }

    [Fact]
    public void Load_EmptyFolder_SaysWhereItLooked()
    {
        var error = Assert.Throws<InfraConfigException>(() => ModelCatalog.Load(_workspace.ModelsDirectory));

        Assert.Contains(_workspace.ModelsDirectory, error.Message);
        Assert.Contains("model.json", error.Message);
    }

    [Fact]
    public void Load_InvalidJson_NamesTheFile()
    {
        Directory.CreateDirectory(Path.Combine(_workspace.ModelsDirectory, "broken"));
        var file = Path.Combine(_workspace.ModelsDirectory, "broken", "model.json");
        File.WriteAllText(file, "{ \"name\": ");

        var error = Assert.Throws<InfraConfigException>(() => ModelCatalog.Load(_workspace.ModelsDirectory));

        Assert.Contains(file, error.Message);
    }

    [Fact]
    public void Load_ArtifactOutsideTheModelsOwnPrefix_IsRejected()
    {
        _workspace.AddModel("thief", 256);
        var file = Path.Combine(_workspace.ModelsDirectory, "thief", "model.json");
        File.WriteAllText(file, File.ReadAllText(file).Replace("thief/1/model.onnx", "victim/1/model.onnx", StringComparison.Ordinal));

        var error = Assert.Throws<InfraConfigException>(() => ModelCatalog.Load(_workspace.ModelsDirectory));

        Assert.Contains("victim/1/model.onnx", error.Message);
        Assert.Contains("must live under 'thief/'", error.Message);
    }

    [Fact]
    public void Load_DefaultVersionNotListed_IsRejected()
    {
        _workspace.AddModel("m", 256);
        var file = Path.Combine(_workspace.ModelsDirectory, "m", "model.json");
        File.WriteAllText(file, File.ReadAllText(file).Replace("\"defaultVersion\":\"1\"", "\"defaultVersion\":\"7\"", StringComparison.Ordinal));

        var error = Assert.Throws<InfraConfigException>(() => ModelCatalog.Load(_workspace.ModelsDirectory));

        Assert.Contains("defaultVersion '7'", error.Message);
    }

    [Fact]
    public void Load_UppercaseName_IsRejectedBecauseItBecomesAnS3Prefix()
    {
        _workspace.AddModel("Upper", 256);

        var error = Assert.Throws<InfraConfigException>(() => ModelCatalog.Load(_workspace.ModelsDirectory));

        Assert.Contains("'Upper'", error.Message);
    }

    [Fact]
    public void Load_DuplicateNames_AreRejected()
    {
        _workspace.AddModel("dup", 256);
        Directory.CreateDirectory(Path.Combine(_workspace.ModelsDirectory, "copy"));
        File.Copy(Path.Combine(_workspace.ModelsDirectory, "dup", "model.json"), Path.Combine(_workspace.ModelsDirectory, "copy", "model.json"));

        var error = Assert.Throws<InfraConfigException>(() => ModelCatalog.Load(_workspace.ModelsDirectory));

        Assert.Contains("'dup' appears in more than one manifest", error.Message);
    }
}
