using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Cli.Commands;
using Serverless.Cli.Hosting;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Core.Models;
using Serverless.Core.Tests.TestModels;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// <c>serve --models DIR</c> over a folder of bare .onnx files, some of which cannot be served: the real serve
/// host on 127.0.0.1 and the real ONNX Runtime, with tiny models written byte by byte. The folder serves what it
/// can; each unloadable file answers with its own error; names keep the file's case.
/// </summary>
public sealed class ModelFolderServeTests : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("serverless-folder-");
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();
    private ServeHost? _host;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        TestEnvironment.EnsureOrtLibrary();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Serve_AFolderWithUnloadableFiles_StartsAndServesTheGoodModelUnderTheFilesOwnCase()
    {
        await StartAsync(("MyModel.onnx", TinyModels.AddSub()), ("Broken.onnx", TinyModels.Broken()), ("NoSuchOp.onnx", TinyModels.UnknownOperator()));

        using var metadata = await _client.GetAsync("/v2/models/MyModel");
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        using var infer = await _client.PostAsync("/v2/models/MyModel/infer", Json("""
            {"inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"data":[1,2,3]},{"name":"b","datatype":"FP32","shape":[1,3],"data":[1,1,1]}]}
            """));
        var body = await infer.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        using var response = JsonDocument.Parse(body);
        var sum = response.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "sum");
        Assert.Equal(new[] { 2f, 3f, 4f }, sum.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));

        using var lowercase = await _client.GetAsync("/v2/models/mymodel");
        Assert.Equal(HttpStatusCode.NotFound, lowercase.StatusCode);
    }

    [Theory]
    [InlineData("Broken", "ORT_INVALID_PROTOBUF")]
    [InlineData("NoSuchOp", "NoSuchOperator")]
    public async Task Infer_OnAModelOrtCannotLoad_Answers503NamingTheFileAndWhatOrtSaid(string name, string ortSays)
    {
        await StartAsync(("MyModel.onnx", TinyModels.AddSub()), ("Broken.onnx", TinyModels.Broken()), ("NoSuchOp.onnx", TinyModels.UnknownOperator()));
        var file = Path.Combine(_folder.FullName, name + ".onnx");

        using var infer = await _client.PostAsync($"/v2/models/{name}/infer", Json("""{"inputs":[]}"""));
        var error = await ErrorAsync(infer);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, infer.StatusCode);
        Assert.Contains($"Model '{name}' is unavailable", error);
        Assert.Contains(file, error);
        Assert.Contains(ortSays, error);
        Assert.Contains("Fix or replace", error);

        using var ready = await _client.GetAsync($"/v2/models/{name}/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains(ortSays, await ready.Content.ReadAsStringAsync());

        using var metadata = await _client.GetAsync($"/v2/models/{name}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, metadata.StatusCode);

        using var index = await _client.PostAsync("/v2/repository/index", Json("{}"));
        using var listing = JsonDocument.Parse(await index.Content.ReadAsStringAsync());
        var entry = listing.RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        Assert.Equal("FAILED", entry.GetProperty("state").GetString());

        using var stillServing = await _client.GetAsync("/v2/models/MyModel");
        Assert.Equal(HttpStatusCode.OK, stillServing.StatusCode);
    }

    [Fact]
    public async Task Banner_ListsUnloadableModelsAsUnavailableAndReportsFileNamesThatBreakTheNameRule()
    {
        await StartAsync(("MyModel.onnx", TinyModels.AddSub()), ("Broken.onnx", TinyModels.Broken()), ("my model.onnx", TinyModels.AddSub()));
        await _host!.PrintBannerAsync(new CliConsole(_output, _error, isTerminal: false));
        var banner = _output.ToString();

        Assert.Contains("Serving 1 model(s)", banner);
        Assert.Contains("(1 more cannot be loaded)", banner);
        var brokenLine = banner.Split('\n').Single(l => l.TrimStart().StartsWith("Broken", StringComparison.Ordinal));
        Assert.Contains("FAILED", brokenLine);
        Assert.Contains("unavailable:", brokenLine);
        Assert.Contains("Broken.onnx", brokenLine);
        Assert.Contains("POST", banner.Split('\n').Single(l => l.TrimStart().StartsWith("MyModel", StringComparison.Ordinal)));

        var warnings = _error.ToString();
        Assert.Contains("not served: 'my model.onnx'", warnings);
        Assert.Contains("it contains ' '", warnings);
        Assert.Contains(ModelCatalog.NameRule, warnings);
        using var index = await _client.PostAsync("/v2/repository/index", Json("{}"));
        using var listing = JsonDocument.Parse(await index.Content.ReadAsStringAsync());
        Assert.Equal(["Broken", "MyModel"], listing.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Serve_AnEmptyModelsFolder_StartsWithAWarningSayingWhatToDo()
    {
        await StartAsync();
        await _host!.PrintBannerAsync(new CliConsole(_output, _error, isTerminal: false));

        Assert.Contains("Serving 0 model(s)", _output.ToString());
        Assert.Contains("Warning: no models to serve", _error.ToString());
        Assert.Contains(_folder.FullName, _error.ToString());
        Assert.Contains("--models DIR", _error.ToString());
    }

    [Fact]
    public async Task ErrorBodies_ReadCleanlyInATerminalAndStayValidJson()
    {
        await StartAsync(("MyModel.onnx", TinyModels.AddSub()));

        using var response = await _client.GetAsync("/v2/models/MyModel/versions/9");
        var raw = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("'MyModel'", raw);
        Assert.DoesNotContain("\\u0027", raw);
        using var parsed = JsonDocument.Parse(raw);
        Assert.Contains("'9'", parsed.RootElement.GetProperty("error").GetString());
    }

    private async Task StartAsync(params (string Name, byte[] Bytes)[] files)
    {
        foreach (var (name, bytes) in files)
        {
            await File.WriteAllBytesAsync(Path.Combine(_folder.FullName, name), bytes);
        }

        var options = new ServeOptions { Host = "127.0.0.1", Port = 0, ModelsDir = _folder.FullName, Store = _folder.FullName, Preload = string.Empty };
        _host = await ServeHost.StartAsync(options, new CliConsole(new StringWriter(), new StringWriter(), isTerminal: false), CancellationToken.None);
        _client = new HttpClient { BaseAddress = _host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("error").GetString()!;
    }
}
