using System.Text;
using System.Text.Json;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Protocol;

/// <summary>The protocol handler over the real ONNX Runtime and the real text-direction model.</summary>
public sealed class OnnxProtocolTests : IDisposable
{
    private readonly OnnxSession _session = OnnxSessionFactory.Instance.Create("text-direction", RepoPaths.ModelFile("text-direction"), new SessionSettings { IntraOpThreads = 1 });
    private readonly ProtocolHandler _handler;

    public OnnxProtocolTests()
    {
        _handler = new ProtocolHandler(new FakeModelRepository().Add("text-direction", _session));
    }

    public void Dispose() => _session.Dispose();

    [Fact]
    public async Task Infer_TextDirectionJson_ReturnsTwoProbabilitiesPerImage()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/text-direction/infer", InferRunnerAllocationTests.TextDirectionRequest(seed: 1));

        Assert.Equal(200, reply.Status);
        var output = reply.Json.RootElement.GetProperty("outputs")[0];
        Assert.Equal("softmax_0.tmp_0", output.GetProperty("name").GetString());
        Assert.Equal("[1,2]", output.GetProperty("shape").GetRawText());
        var probabilities = output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.All(probabilities, p => Assert.InRange(p, 0f, 1f));
        Assert.Equal(1f, probabilities.Sum(), 3);
    }

    [Fact]
    public async Task Infer_SameImageAsJsonAndAsBinary_GivesIdenticalBits()
    {
        var json = InferRunnerAllocationTests.TextDirectionRequest(seed: 2);
        var jsonReply = await _handler.SendJsonAsync("/v2/models/text-direction/infer", json);
        var floats = JsonDocument.Parse(json).RootElement.GetProperty("inputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var binaryReply = await _handler.SendBinaryAsync("/v2/models/text-direction/infer",
            """{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":110592}}],"parameters":{"binary_data_output":true}}""",
            BinaryTensorDataTests.Bytes(floats));

        var fromJson = jsonReply.Json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(BinaryTensorDataTests.Bytes(fromJson), binaryReply.Binary);
    }

    [Fact]
    public async Task Infer_MatchesMicrosoftsOwnBindingOverTheSameRuntime()
    {
        var json = InferRunnerAllocationTests.TextDirectionRequest(seed: 3);
        var ours = await _handler.SendJsonAsync("/v2/models/text-direction/infer", json);
        var input = JsonDocument.Parse(json).RootElement.GetProperty("inputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();

        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var reference = new Microsoft.ML.OnnxRuntime.InferenceSession(RepoPaths.ModelFile("text-direction"), options);
        using var x = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(input, [1, 3, 48, 192]);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        using var results = reference.Run(runOptions, ["x"], [x], reference.OutputNames);
        var expected = results[0].GetTensorDataAsSpan<float>().ToArray();

        var actual = ours.Json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(expected, actual); // the same runtime and optimizations: identical bits
    }

    [Fact]
    public async Task Infer_RawBinaryForTextDirection_ExplainsThatItsShapeCannotBeInferred()
    {
        var reply = await _handler.SendAsync("POST", "/v2/models/text-direction/infer", new byte[110592], "application/octet-stream", "0");
        Assert.Equal(400, reply.Status);
        Assert.Contains("[-1,3,-1,-1]: only the first dimension may be dynamic", reply.Error);
    }

    [Fact]
    public async Task Infer_WrongChannelCount_IsRejectedBeforeTheRuntimeRuns()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/text-direction/infer", """{"inputs":[{"name":"x","shape":[1,4,1,1],"datatype":"FP32","data":[1,2,3,4]}]}""");
        Assert.Equal(400, reply.Status);
        Assert.Contains("dimension 1 must be 3, got 4", reply.Error);
    }
}
