using System.Globalization;
using System.Net;
using System.Text;
using Serverless.Cli.Tests.Fixtures;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Cli.Tests.EndToEnd;

/// <summary>
/// Every real model, over real HTTP on loopback, against the independent Node reference binding on the
/// same seeded input. Both run ONNX Runtime 1.30.0 with the same graph optimizations, so the outputs
/// should agree to the last bit; the bound allows 1e-5 and the test prints the largest difference.
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
    public async Task Infer_OverHttp_MatchesNodeReferenceOnEveryElement(string model, string mainOutput, long[] mainShape)
    {
        var request = InferRequests.For(model);

        using var response = await _server.Client.PostAsync(
            $"/v2/models/{model}/infer", new StringContent(request, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model}: HTTP {(int)response.StatusCode}: {body}");

        var reference = await NodeReference.InferAsync(RepoPaths.ModelFile(model), request);
        var diffs = OutputComparison.MaxAbsDiffByOutput(body, reference);

        Assert.Contains(mainOutput, diffs.Keys);
        using (var document = System.Text.Json.JsonDocument.Parse(body))
        {
            var output = document.RootElement.GetProperty("outputs").EnumerateArray()
                .First(o => o.GetProperty("name").GetString() == mainOutput);
            Assert.Equal(mainShape, OutputComparison.Shape(output));
            Assert.Equal(model, document.RootElement.GetProperty("model_name").GetString());
        }

        foreach (var (name, diff) in diffs)
        {
            var line = string.Create(CultureInfo.InvariantCulture, $"{model}: output '{name}' max |server - node| = {diff:G9}");
            _output.WriteLine(line);
            ParityResults.Record(model, name, diff);
            Assert.True(diff <= Tolerance, line + $" exceeds {Tolerance}");
        }
    }
}
