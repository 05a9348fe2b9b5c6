using System.Globalization;
using System.Net;
using System.Text;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Cli.Tests.EndToEnd;

/// <summary>
/// Every real model, over real HTTP on loopback, against the independent reference binding (Microsoft.ML.OnnxRuntime's
/// InferenceSession, see <see cref="ReferenceBinding"/>) on the same seeded input and the same artifact. Both run ONNX Runtime 1.30.0 with the same graph optimizations,
/// so the outputs should agree to the last bit; the bound allows 1e-5 and the test prints the largest
/// difference. The fp32 originals are asked for as version 1 explicitly; where the manifest pins an int8
/// version 2 as the default, the unversioned route is compared with the reference on that int8 file.
/// </summary>
public sealed class ModelParityTests : IClassFixture<ServerFixture>
{
    public const double Tolerance = 1e-5;

    private readonly ServerFixture _server;
    private readonly ITestOutputHelper _output;

    public ModelParityTests(ServerFixture server, ITestOutputHelper output)
    {
        _server = server;
        _output = output;
    }

    [Theory]
    [InlineData("text-direction", "softmax_0.tmp_0", new long[] { 1, 2 })]
    [InlineData("text-detection", "sigmoid_0.tmp_0", new long[] { 1, 1, 64, 64 })]
    [InlineData("text-recognition", "softmax_11.tmp_0", new long[] { 1, 12, 6625 })]
    [InlineData("voice-activity", "output", new long[] { 1, 1 })]
    public async Task Infer_Version1Fp32_OverHttp_MatchesTheReferenceBindingOnEveryElement(string model, string mainOutput, long[] mainShape)
    {
        var request = InferRequests.For(model);

        var body = await InferAsync($"/v2/models/{model}/versions/1/infer", request, model);
        var reference = await ReferenceBinding.InferAsync(RepoPaths.ModelFile(model, "1"), request);

        AssertResponse(body, model, "1", mainOutput, mainShape);
        AssertParity(body, reference, model, mainOutput);
    }

    [Theory]
    [InlineData("text-detection", "sigmoid_0.tmp_0", new long[] { 1, 1, 64, 64 })]
    [InlineData("text-recognition", "softmax_11.tmp_0", new long[] { 1, 12, 6625 })]
    [InlineData("voice-activity", "output", new long[] { 1, 1 })]
    public async Task Infer_DefaultVersion_IsTheInt8ArtifactAndMatchesTheReferenceBindingOnIt(string model, string mainOutput, long[] mainShape)
    {
        var manifest = Serverless.Core.Models.ModelCatalog.LoadFromFolder(RepoPaths.Models).Single(m => m.Name == model);
        var pinned = manifest.FindVersion(null)!;
        Assert.True(pinned.Precision == "int8" && pinned.Version == "2", $"{model}: models/{model}/model.json's default is version {pinned.Version} ({pinned.Precision}); this test checks the int8 version 2 default");
        var request = InferRequests.For(model);

        var body = await InferAsync($"/v2/models/{model}/infer", request, model);
        var int8 = await ReferenceBinding.InferAsync(RepoPaths.ModelFile(model, "2"), request);
        var fp32 = await ReferenceBinding.InferAsync(RepoPaths.ModelFile(model, "1"), request);

        AssertResponse(body, model, "2", mainOutput, mainShape);
        AssertParity(body, int8, model + " (v2 int8)", mainOutput);

        // The default really is the quantized graph, not the fp32 one under another version number: the answer is the
        // int8 artifact's to the bit, and further from fp32's (weight-only int8 computes in fp32, so it can be close).
        var fromInt8 = OutputComparison.MaxAbsDiffByOutput(body, int8)[mainOutput];
        var fromFp32 = OutputComparison.MaxAbsDiffByOutput(body, fp32)[mainOutput];
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model}: default (int8) vs fp32 reference, max |diff| = {fromFp32:G9}"));
        Assert.True(fromInt8 == 0 && fromFp32 > 0, $"{model}: the default version's output is {fromInt8} from the int8 artifact's and {fromFp32} from fp32's; int8 is not being served");
    }

    [Theory]
    [InlineData("text-direction")]
    public async Task Infer_DefaultVersion_OfAnFp32OnlyModel_IsVersion1(string model)
    {
        var body = await InferAsync($"/v2/models/{model}/infer", InferRequests.For(model), model);

        using var document = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal("1", document.RootElement.GetProperty("model_version").GetString());
    }

    private async Task<string> InferAsync(string path, string request, string model)
    {
        using var response = await _server.Client.PostAsync(path, new StringContent(request, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model}: {path}: HTTP {(int)response.StatusCode}: {body}");
        return body;
    }

    private static void AssertResponse(string body, string model, string version, string mainOutput, long[] mainShape)
    {
        using var document = System.Text.Json.JsonDocument.Parse(body);
        var output = document.RootElement.GetProperty("outputs").EnumerateArray()
            .First(o => o.GetProperty("name").GetString() == mainOutput);
        Assert.Equal(mainShape, OutputComparison.Shape(output));
        Assert.Equal(model, document.RootElement.GetProperty("model_name").GetString());
        Assert.Equal(version, document.RootElement.GetProperty("model_version").GetString());
    }

    private void AssertParity(string body, string reference, string label, string mainOutput)
    {
        var diffs = OutputComparison.MaxAbsDiffByOutput(body, reference);
        Assert.Contains(mainOutput, diffs.Keys);
        foreach (var (name, diff) in diffs)
        {
            var line = string.Create(CultureInfo.InvariantCulture, $"{label}: output '{name}' max |server - reference| = {diff:G9}");
            _output.WriteLine(line);
            ParityResults.Record(label, name, diff);
            Assert.True(diff <= Tolerance, line + $" exceeds {Tolerance}");
        }
    }
}
