using System.Text;
using System.Text.Json;
using Serverless.Core.Models;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Models;

/// <summary>
/// The start-up manifest reader against the serializer contract it replaces for reading: the same manifest for
/// every real model.json and for hand-written edge cases, and a JsonException naming the path for bad input.
/// </summary>
public sealed class ModelManifestReaderTests
{
    public static TheoryData<string> RepositoryManifests()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(RepoPaths.CheckedInManifests, "model.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(RepoPaths.CheckedInManifests, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RepositoryManifests))]
    public void RepositoryManifest_ReadsAsTheSerializerReadsIt(string relative)
    {
        var json = File.ReadAllBytes(Path.Combine(RepoPaths.CheckedInManifests, relative));

        AssertSame(json);
    }

    [Fact]
    public void MinimalManifest_GetsTheDocumentedDefaults()
    {
        // The serializer's source generator sets every init-only property it did not read to default (null, 0),
        // dropping the initializers; the reader keeps them, as the record documents.
        var manifest = ModelManifestReader.Read("""{"name":"m","defaultVersion":"1","versions":[{"version":"1","artifact":"m/1/model.onnx","sha256":"aa","size":5}]}"""u8.ToArray());

        Assert.Equal("m", manifest.Name);
        Assert.Null(manifest.Description);
        Assert.Equal("onnxruntime_onnx", manifest.Platform);
        Assert.Equal(512, manifest.MemoryMb);
        Assert.Equal(32, manifest.MaxBatchSize);
        Assert.False(manifest.Gpu);
        Assert.Empty(manifest.Inputs);
        Assert.Empty(manifest.Outputs);
        var version = Assert.Single(manifest.Versions);
        Assert.Equal(("1", "m/1/model.onnx", "aa", 5L, "fp32"), (version.Version, version.Artifact, version.Sha256, version.Size, version.Precision));
        Assert.Null(version.Source);
    }

    [Fact]
    public void FullManifest_WithCommentsTrailingCommasAndUnknownProperties_ReadsEveryField()
    {
        var manifest = ModelManifestReader.Read(Encoding.UTF8.GetBytes("""
            // comments and trailing commas are allowed, unknown properties ignored
            {"name":"m", "extra": {"deep": [1, 2]}, "defaultVersion":"2", "gpu": true, "memoryMb": 2048, "maxBatchSize": 0, "platform": "onnxruntime_onnx",
             "versions":[{"version":"1","artifact":"a","sha256":"bb","size":5},
                         {"version":"2","artifact":"b","sha256":"cc","size":6,"precision":"int8","source":{"package":"p","path":"x.onnx","license":"MIT","derivedFrom":"1 by q"},},],
             "inputs":[{"name":"x","datatype":"FP32","shape":[-1,3,48,192]}], "outputs":[{"name":"y","datatype":"INT64","shape":[]}], "description": "d", }
            """));

        Assert.Equal(("m", "2", true, 2048, 0, "d"), (manifest.Name, manifest.DefaultVersion, manifest.Gpu, manifest.MemoryMb, manifest.MaxBatchSize, manifest.Description));
        Assert.Equal(2, manifest.Versions.Count);
        Assert.Equal(("int8", "p", "x.onnx", "MIT", "1 by q"), (manifest.Versions[1].Precision, manifest.Versions[1].Source!.Package, manifest.Versions[1].Source!.Path, manifest.Versions[1].Source!.License, manifest.Versions[1].Source!.DerivedFrom));
        Assert.Equal([-1L, 3, 48, 192], Assert.Single(manifest.Inputs).Shape);
        Assert.Equal(("y", "INT64"), (manifest.Outputs[0].Name, manifest.Outputs[0].Datatype));
        Assert.Empty(manifest.Outputs[0].Shape);
        Assert.Equal(Encoding.UTF8.GetString(ModelCatalog.Serialize(manifest)), Encoding.UTF8.GetString(ModelCatalog.Serialize(ModelManifestReader.Read(ModelCatalog.Serialize(manifest)))));
    }

    [Theory]
    [InlineData("null", "null")]
    [InlineData("[]", "$ must be an object")]
    [InlineData("""{"defaultVersion":"1","versions":[]}""", "'name'")]
    [InlineData("""{"name":"m","versions":[]}""", "'defaultVersion'")]
    [InlineData("""{"name":"m","defaultVersion":"1"}""", "'versions'")]
    [InlineData("""{"name":5,"defaultVersion":"1","versions":[]}""", "$.name must be a string")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":{}}""", "$.versions must be an array")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":[{"version":"1","artifact":"a","sha256":"c","size":"5"}]}""", "$.versions[0].size must be a whole number")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":[{"version":"1","artifact":"a","sha256":"c","size":1.5}]}""", "$.versions[0].size must be a whole number")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":[{"version":"1","artifact":"a","sha256":"c"}]}""", "'size'")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":[],"gpu":"yes"}""", "$.gpu must be true or false")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":[],"memoryMb":99999999999}""", "$.memoryMb must be a whole number")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":[],"inputs":[{"name":"x","datatype":"FP32","shape":[1,"2"]}]}""", "$.inputs[0].shape[1] must be a whole number")]
    [InlineData("""{"name":"m","defaultVersion":"1","versions":[],"inputs":[{"name":"x","datatype":"FP32"}]}""", "'shape'")]
    [InlineData("""{"name":"m",""", "")]
    public void BadManifest_IsAJsonExceptionNamingWhere(string json, string expected)
    {
        var error = Assert.ThrowsAny<JsonException>(() => ModelManifestReader.Read(Encoding.UTF8.GetBytes(json)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);

        // The serializer refuses the same documents (its messages differ).
        Assert.ThrowsAny<Exception>(() => JsonSerializer.Deserialize(json, ModelManifestJsonContext.Default.ModelManifest) ?? throw new JsonException("null"));
    }

    [Fact]
    public void NullName_IsRefusedByTheReader_WhereTheSerializerLetItThrough()
    {
        var json = """{"name":null,"defaultVersion":"1","versions":[]}"""u8.ToArray();

        Assert.Contains("$.name must be a string, not null", Assert.Throws<JsonException>(() => ModelManifestReader.Read(json)).Message, StringComparison.Ordinal);
        Assert.Null(JsonSerializer.Deserialize(json, ModelManifestJsonContext.Default.ModelManifest)!.Name);
    }

    private static void AssertSame(byte[] json)
    {
        var expected = JsonSerializer.Deserialize(json, ModelManifestJsonContext.Default.ModelManifest)!;
        var actual = ModelManifestReader.Read(json);

        Assert.Equal(Encoding.UTF8.GetString(ModelCatalog.Serialize(expected)), Encoding.UTF8.GetString(ModelCatalog.Serialize(actual)));
    }
}
