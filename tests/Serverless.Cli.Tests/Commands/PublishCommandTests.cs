using System.Net;
using System.Security.Cryptography;
using System.Text;
using Serverless.Cli.Commands;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Commands;

/// <summary>
/// <c>serverless publish</c> to a local folder store and to a real s3rver, and a deployment that serves
/// from what was published with no local models folder at all.
/// </summary>
public sealed class PublishCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("serverless-publish-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Publish_ToFolderStore_CopiesVerifiedArtifactsAndManifestsThenSkipsThemTheSecondTime()
    {
        var models = ModelsFolder("text-direction", "voice-activity");
        var destination = Path.Combine(_dir, "published");
        var args = new[] { "publish", "--store", new Uri(destination + "/").AbsoluteUri, "--source", new Uri(RepoPaths.ModelStore).AbsoluteUri, "--models", models };

        var first = await CliRun.RunAsync(args);

        Assert.True(first.ExitCode == 0, first.ToString());
        foreach (var model in new[] { "text-direction", "voice-activity" })
        {
            var published = Path.Combine(destination, model, "1", "model.onnx");
            Assert.Equal(Sha256(RepoPaths.ModelFile(model)), Sha256(published));
            Assert.True(File.Exists(Path.Combine(destination, model, "model.json")));
            Assert.Contains($"uploaded                  {model}/1/model.onnx", first.Output);
        }

        // voice-activity also has its pinned int8 version 2 (its default), published next to the fp32 version 1.
        Assert.Equal(Sha256(RepoPaths.ModelFile("voice-activity", "2")), Sha256(Path.Combine(destination, "voice-activity", "2", "model.onnx")));
        Assert.Contains("uploaded                  voice-activity/2/model.onnx", first.Output);
        Assert.Contains("Done: 5 object(s) uploaded", first.Output);

        var second = await CliRun.RunAsync(args);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("skipped (already present)  text-direction/1/model.onnx", second.Output);
        Assert.Contains("skipped (already present)  voice-activity/2/model.onnx", second.Output);
        Assert.Contains("3 already present", second.Output);
    }

    [Fact]
    public async Task Publish_ToTheSourceStoreItself_ExitsWithCode2()
    {
        var store = new Uri(RepoPaths.ModelStore + "/").AbsoluteUri;

        var run = await CliRun.RunAsync(["publish", "--store", store, "--source", store, "--models", RepoPaths.Models]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("source store itself", run.Error);
    }

    [Fact]
    public async Task Publish_WithoutStore_FailsNamingTheOption()
    {
        var run = await CliRun.RunAsync(["publish", "--models", RepoPaths.Models]);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--store", run.Error);
    }

    [Fact]
    public async Task Publish_ToUnknownScheme_ExitsWithCode2ListingTheSupportedOnes()
    {
        var run = await CliRun.RunAsync(["publish", "--store", "ftp://example/models", "--models", ModelsFolder("text-direction")]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("s3", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Fact]
    public async Task PublishToS3rver_ThenServeFromTheStoreAlone_AnswersLikeNode()
    {
        using var s3 = await S3rverServer.StartAsync("models");
        var environment = new Dictionary<string, string?>(s3.ClientEnvironment)
        {
            ["MODEL_CACHE_DIR"] = Path.Combine(_dir, "cache"),
        };
        var store = $"s3://{s3.Bucket}/prod";

        var publish = await CliProcess.RunAsync(environment, "publish", "--store", store, "--models", ModelsFolder("text-direction"));
        Assert.True(publish.ExitCode == 0, publish.ToString());

        // No models folder (none set, none in the working directory): the catalog comes from the
        // model.json that publish put in the store.
        environment["SERVERLESS_MODELS_DIR"] = null;
        environment["MODEL_STORE"] = store;
        var serve = await ServeProcess.StartAsync(environment, _dir);
        await using (serve)
        {
            var request = InferRequests.TextDirection(seed: 21);
            using var client = new HttpClient { BaseAddress = serve.BaseAddress };
            using var response = await client.PostAsync("/v2/models/text-direction/infer", new StringContent(request, Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {body}\n{serve.Output}");

            var diffs = OutputComparison.MaxAbsDiffByOutput(body, await ReferenceBinding.InferAsync(RepoPaths.ModelFile("text-direction"), request));
            Assert.All(diffs.Values, d => Assert.True(d <= 1e-5));
            Assert.True(serve.Output.Contains("Serving 1 model(s) from store s3://models/prod", StringComparison.Ordinal), serve.Output);
        }
    }

    /// <summary>A models folder holding only the named manifests (keeps uploads small).</summary>
    private string ModelsFolder(params string[] names)
    {
        var folder = Path.Combine(_dir, "models-" + string.Join('-', names));
        foreach (var name in names)
        {
            Directory.CreateDirectory(Path.Combine(folder, name));
            File.Copy(Path.Combine(RepoPaths.Models, name, "model.json"), Path.Combine(folder, name, "model.json"));
        }

        return folder;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
