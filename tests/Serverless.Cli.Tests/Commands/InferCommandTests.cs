using System.Text.Json;
using Serverless.Cli.Commands;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Commands;

/// <summary><c>serverless infer</c>, run in-process through the real command tree, handler and ONNX Runtime.</summary>
public sealed class InferCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("serverless-infer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Infer_ByModelName_PrintsTheProtocolResponse()
    {
        var request = WriteRequest(InferRequests.TextDirection());

        var run = await CliRun.RunAsync(["infer", "--model", "text-direction", "--input", request, .. CliRun.RepoModels]);

        Assert.True(run.ExitCode == 0, run.ToString());
        AssertSoftmaxResponse(run.Output, "text-direction");
    }

    [Fact]
    public async Task Infer_ByOnnxPath_RunsThatFileAndMatchesTheNamedModel()
    {
        var requestJson = InferRequests.TextDirection(seed: 5);
        var request = WriteRequest(requestJson);

        var byPath = await CliRun.RunAsync(["infer", "--model", RepoPaths.ModelFile("text-direction"), "--input", request]);
        var byName = await CliRun.RunAsync(["infer", "--model", "text-direction", "--input", request, .. CliRun.RepoModels]);

        Assert.True(byPath.ExitCode == 0, byPath.ToString());
        var diffs = OutputComparison.MaxAbsDiffByOutput(byPath.Output, byName.Output);
        Assert.All(diffs.Values, d => Assert.Equal(0.0, d));
    }

    [Fact]
    public async Task Infer_WithOutputFile_WritesTheResponseThereAndNothingToStdout()
    {
        var request = WriteRequest(InferRequests.VoiceActivity());
        var output = Path.Combine(_dir, "response.json");

        var run = await CliRun.RunAsync(["infer", "-m", "voice-activity", "-i", request, "-o", output, .. CliRun.RepoModels]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(string.Empty, run.Output);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var names = document.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()).ToList();
        Assert.Contains("output", names);
        Assert.Contains("stateN", names);
    }

    [Fact]
    public async Task Infer_UnknownModel_ExitsWithCode2AndNamesTheModel()
    {
        var request = WriteRequest(InferRequests.TextDirection());

        var run = await CliRun.RunAsync(["infer", "--model", "no-such-model", "--input", request, .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("no-such-model", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Fact]
    public async Task Infer_RequestThatDoesNotFitTheModel_ExitsWithCode2AndPrintsTheProtocolError()
    {
        var request = WriteRequest(InferRequests.Single("x", [1, 4, 48, 192], new float[4 * 48 * 192]));

        var run = await CliRun.RunAsync(["infer", "--model", "text-direction", "--input", request, .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("HTTP 400", run.Error);
        Assert.Contains("'x'", run.Error);
        Assert.Equal(string.Empty, run.Output);
    }

    [Fact]
    public async Task Infer_MissingRequestFile_ExitsWithCode2WithoutStackTrace()
    {
        var run = await CliRun.RunAsync(["infer", "--model", "text-direction", "--input", Path.Combine(_dir, "missing.json"), .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("missing.json", run.Error);
        Assert.Contains("does not exist", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Fact]
    public async Task Infer_MissingRequestFileWithVerbose_AddsTheStackTrace()
    {
        var run = await CliRun.RunAsync(["infer", "--verbose", "--model", "text-direction", "--input", Path.Combine(_dir, "missing.json"), .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("   at ", run.Error);
    }

    [Fact]
    public async Task Infer_MissingOnnxFile_ExitsWithCode2NamingThePath()
    {
        var request = WriteRequest(InferRequests.TextDirection());
        var missing = Path.Combine(_dir, "nope.onnx");

        var run = await CliRun.RunAsync(["infer", "--model", missing, "--input", request]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(missing, run.Error);
    }

    [Fact]
    public async Task Infer_WithoutRequiredOptions_FailsWithUsageMessage()
    {
        var run = await CliRun.RunAsync(["infer", "--model", "text-direction"]);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--input", run.Error);
    }

    private string WriteRequest(string json)
    {
        var path = Path.Combine(_dir, $"request-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static void AssertSoftmaxResponse(string json, string model)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Equal(model, document.RootElement.GetProperty("model_name").GetString());
        var output = document.RootElement.GetProperty("outputs")[0];
        Assert.Equal("softmax_0.tmp_0", output.GetProperty("name").GetString());
        Assert.Equal(new long[] { 1, 2 }, OutputComparison.Shape(output));
        var sum = output.GetProperty("data").EnumerateArray().Sum(e => e.GetDouble());
        Assert.InRange(sum, 0.999, 1.001);
    }
}
