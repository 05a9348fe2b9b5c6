using System.Text.Json;
using Serverless.Azure.Packaging;
using Serverless.Core.Models;
using Serverless.Tests.Shared;

namespace Serverless.Azure.Tests.Packaging;

public sealed class FunctionAppLayoutTests : IDisposable
{
    private readonly string _app = Directory.CreateTempSubdirectory("azure-app-").FullName;

    public void Dispose() => Directory.Delete(_app, recursive: true);

    [Fact]
    public void Write_ForTheRepositoryModels_MakesOneHttpAndOneBatchFunctionPerModel()
    {
        var manifests = ModelCatalog.LoadFromFolder(RepoPaths.Models);

        var files = FunctionAppLayout.Write(_app, manifests);

        foreach (var manifest in manifests.Where(m => !m.Gpu))
        {
            Assert.Contains(Path.Combine($"{manifest.Name}-http", "function.json"), files);
            Assert.Contains(Path.Combine($"{manifest.Name}-batch", "function.json"), files);
            Assert.True(File.Exists(Path.Combine(_app, "models", manifest.Name, "model.json")));
        }

        Assert.True(File.Exists(Path.Combine(_app, "health-http", "function.json")));
    }

    [Fact]
    public void HttpFunction_IsAForwardedHttpTriggerOnTheModelRouteWithFunctionKeys()
    {
        FunctionAppLayout.Write(_app, ModelCatalog.LoadFromFolder(RepoPaths.Models));

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_app, "text-direction-http", "function.json")));
        var bindings = doc.RootElement.GetProperty("bindings");
        var trigger = bindings[0];
        Assert.Equal("httpTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("in", trigger.GetProperty("direction").GetString());
        Assert.Equal("function", trigger.GetProperty("authLevel").GetString());
        Assert.Equal("v2/models/text-direction/{*rest}", trigger.GetProperty("route").GetString());
        Assert.Equal(["get", "post"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("http", bindings[1].GetProperty("type").GetString());
        Assert.Equal("out", bindings[1].GetProperty("direction").GetString());
    }

    [Fact]
    public void BatchFunction_IsAnEventGridTriggerNamedEventGridEvent()
    {
        FunctionAppLayout.Write(_app, ModelCatalog.LoadFromFolder(RepoPaths.Models));

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_app, "voice-activity-batch", "function.json")));
        var trigger = Assert.Single(doc.RootElement.GetProperty("bindings").EnumerateArray());
        Assert.Equal("eventGridTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("eventGridEvent", trigger.GetProperty("name").GetString());
    }

    [Fact]
    public void HostJson_ConfiguresTheCustomHandlerWithForwardingAndNoRoutePrefix()
    {
        using var doc = JsonDocument.Parse(FunctionAppLayout.HostJson());
        var root = doc.RootElement;

        Assert.Equal("2.0", root.GetProperty("version").GetString());
        var handler = root.GetProperty("customHandler");
        Assert.Equal("serverless-azure", handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.True(handler.GetProperty("enableForwardingHttpRequest").GetBoolean());
        Assert.Equal("", root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.StartsWith("[4.", root.GetProperty("extensionBundle").GetProperty("version").GetString());
    }

    [Fact]
    public void Write_SkipsGpuOnlyModels()
    {
        var gpu = new ModelManifest
        {
            Name = "big-gpu",
            DefaultVersion = "1",
            Gpu = true,
            Versions = [new ModelVersionManifest { Version = "1", Artifact = "big-gpu/1/model.onnx", Sha256 = new string('0', 64), Size = 1 }],
        };

        var files = FunctionAppLayout.Write(_app, [gpu]);

        Assert.DoesNotContain(files, f => f.Contains("big-gpu", StringComparison.Ordinal));
    }

    [Fact]
    public void RunCommand_WithoutArguments_PrintsUsageAndFails()
    {
        var error = new StringWriter();

        var code = FunctionAppLayout.RunCommand([], TextWriter.Null, error);

        Assert.Equal(2, code);
        Assert.Contains("usage: serverless-azure layout", error.ToString());
    }
}
