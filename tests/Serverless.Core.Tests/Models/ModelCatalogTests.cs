using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Storage;
using Serverless.Core.Tests.Storage;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Models;

public sealed class ModelCatalogTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void LoadFromFolder_TheRepositoryModels_ReadsAllFourSortedByName()
    {
        var manifests = ModelCatalog.LoadFromFolder(RepoPaths.Models);

        Assert.Equal(["text-detection", "text-direction", "text-recognition", "voice-activity"], manifests.Select(m => m.Name));
        Assert.Equal(10822323, manifests[2].Versions[0].Size);
    }

    [Theory]
    [InlineData("\"name\": \"Bad Name\"", "the name 'Bad Name' is not allowed")]
    [InlineData("\"name\": \"..\"", "the name '..' is not allowed")]
    [InlineData("\"sha256\": \"ABC\"", "expected 64 lowercase hex digits")]
    [InlineData("\"artifact\": \"../../etc/passwd\"", "not a safe relative key")]
    [InlineData("\"defaultVersion\": \"9\"", "defaultVersion '9' is not among its versions")]
    [InlineData("\"size\": 0", "has size 0")]
    public void Parse_WithAnInvalidField_ThrowsNamingTheFileAndTheProblem(string replacement, string expected)
    {
        var json = Valid();
        var field = replacement[..(replacement.IndexOf(':') + 1)];
        var start = json.IndexOf(field, StringComparison.Ordinal);
        var end = json.IndexOfAny([',', '\n'], start);
        json = json[..start] + replacement + json[end..];

        var error = Assert.Throws<InferenceException>(() => ModelCatalog.Parse(Encoding.UTF8.GetBytes(json), "models/x/model.json"));

        Assert.Equal(ErrorCode.InvalidInput, error.Code);
        Assert.Contains("'models/x/model.json'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Parse_WithBrokenJson_ThrowsInvalidInput() =>
        Assert.Equal(ErrorCode.InvalidInput, Assert.Throws<InferenceException>(() => ModelCatalog.Parse("{\"name\":"u8, "m.json")).Code);

    [Fact]
    public void LoadFromFolder_WithTwoManifestsDeclaringOneName_ThrowsNamingBothFiles()
    {
        _temp.Write("a/model.json", Encoding.UTF8.GetBytes(Valid()));
        _temp.Write("b/model.json", Encoding.UTF8.GetBytes(Valid()));

        var error = Assert.Throws<InferenceException>(() => ModelCatalog.LoadFromFolder(_temp.Path));

        Assert.Contains("'m'", error.Message);
        Assert.Contains(_temp.Combine("a", "model.json"), error.Message);
        Assert.Contains(_temp.Combine("b", "model.json"), error.Message);
    }

    [Fact]
    public void LoadFromFolder_AMissingFolder_ThrowsSayingWhichVariableToSet() =>
        Assert.Contains("SERVERLESS_MODELS_DIR", Assert.Throws<InferenceException>(() => ModelCatalog.LoadFromFolder("/no/such/folder")).Message);

    [Fact]
    public async Task LoadFromStore_ReadsTopLevelManifestsAndRejectsANameDifferentFromItsFolder()
    {
        var store = new LocalObjectStore(_temp.Path);
        await store.PutAsync("m/model.json", new MemoryStream(Encoding.UTF8.GetBytes(Valid())));
        await store.PutAsync("m/1/model.json", new MemoryStream([1])); // deeper keys are not manifests

        Assert.Equal("m", Assert.Single(await ModelCatalog.LoadFromStoreAsync(store, default)).Name);

        await store.PutAsync("other/model.json", new MemoryStream(Encoding.UTF8.GetBytes(Valid())));
        var error = await Assert.ThrowsAsync<InferenceException>(() => ModelCatalog.LoadFromStoreAsync(store, default));
        Assert.Contains("differs from its folder 'other'", error.Message);
    }

    [Fact]
    public void SerializeThenParse_RoundTrips()
    {
        var manifest = ModelCatalog.LoadFromFolder(RepoPaths.Models)[3];

        var again = ModelCatalog.Parse(ModelCatalog.Serialize(manifest), "roundtrip");

        Assert.Equal(manifest.Name, again.Name);
        Assert.Equal(manifest.Versions[0], again.Versions[0]);
        Assert.Equal(manifest.Inputs.Select(i => i.Name), again.Inputs.Select(i => i.Name));
    }

    [Theory]
    [InlineData("ResNet50")]
    [InlineData("cast_FLOAT_to_DOUBLE")]
    [InlineData("text-direction")]
    [InlineData("v1.2")]
    public void IsValidName_KeepsCase(string name) =>
        Assert.True(ModelCatalog.IsValidName(name));

    [Theory]
    [InlineData("My Model (v2)", "it contains ' '")]
    [InlineData("__weird", "it starts with '_'")]
    [InlineData("a..b", "it contains '..'")]
    [InlineData("模型", "it starts with '模'")]
    [InlineData("", "it is empty")]
    public void NameProblem_NamesWhatBreaksTheRule(string name, string expected) =>
        Assert.Equal(expected, ModelCatalog.NameProblem(name));

    [Fact]
    public void DerivedNameProblem_ForAFileNameThatCannotBeAModelName_StatesTheRule()
    {
        var problem = DerivedManifest.NameProblem("my model.onnx");

        Assert.NotNull(problem);
        Assert.Contains("'my model.onnx'", problem);
        Assert.Contains("it contains ' '", problem);
        Assert.Contains(ModelCatalog.NameRule, problem);
        Assert.Null(DerivedManifest.NameProblem("MyModel.onnx"));
    }

    [Fact]
    public void CheckUnique_WithNamesDifferingOnlyByCase_ThrowsNamingBoth()
    {
        var lower = ModelCatalog.Parse(Encoding.UTF8.GetBytes(Valid()), "lower");
        var upper = lower with { Name = "M" };

        var error = Assert.Throws<InferenceException>(() => ModelCatalog.CheckUnique([(lower, "first.json"), (upper, "second.json")]));

        Assert.Contains("'m' and 'M'", error.Message);
        Assert.Contains("first.json", error.Message);
        Assert.Contains("second.json", error.Message);
    }

    private static string Valid() => """
        {
          "name": "m",
          "defaultVersion": "1",
          "versions": [
            {
              "version": "1",
              "artifact": "m/1/model.onnx",
              "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
              "size": 10
            }
          ]
        }
        """;
}
