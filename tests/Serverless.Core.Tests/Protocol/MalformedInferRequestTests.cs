using System.Text;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Protocol;

/// <summary>A corpus of bad infer requests: each must get its exact 4xx status and a message that says what is wrong.</summary>
public class MalformedInferRequestTests
{
    private const string Path = "/v2/models/echo/infer";
    private const string Ids = """{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}""";

    private readonly FakeModelRepository _repository = ProtocolTestClient.EchoRepository();

    public static TheoryData<string, int, string> Corpus => new()
    {
        { "this is not json", 400, "not valid" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3]", 400, "not valid" },
        { "[1,2,3]", 400, "must be a JSON object" },
        { "{\"inputs\":[]} trailing", 400, "not valid" },
        { "{\"inputs\":\"x\"}", 400, "'inputs' must be an array" },
        { "{\"inputs\":[5]}", 400, "inputs[0] must be an object" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":\"x\",\"datatype\":\"FP32\",\"data\":[1,2,3]}," + Ids + "]}", 400, "inputs[0].shape must be an array of integers" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1.5,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}," + Ids + "]}", 400, "inputs[0].shape must be an array of integers" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[-1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}," + Ids + "]}", 400, "dimension 0 of shape [-1,3] is negative" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2]}," + Ids + "]}", 400, "expected 3 elements from shape [1,3], got 2" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}," + Ids + "]}", 400, "expected 3 elements from shape [1,3], got 4" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP99\",\"data\":[1,2,3]}," + Ids + "]}", 400, "\"FP99\" is not a protocol datatype" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"INT32\",\"data\":[1,2,3]}," + Ids + "]}", 400, "Input 'x' has datatype INT32 but the model expects FP32" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}," + Ids + "]}", 400, "dimension 1 must be 3, got 4" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[3],\"datatype\":\"FP32\",\"data\":[1,2,3]}," + Ids + "]}", 400, "model expects rank 2" },
        { "{\"inputs\":[{\"name\":\"y\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}," + Ids + "]}", 400, "Unknown input 'y'. The model's inputs are 'x' FP32 [-1,3], 'ids' INT64 [-1]" },
        { "{\"inputs\":[" + Ids + "]}", 400, "Missing input 'x'" },
        { "{\"inputs\":[" + Ids + "," + Ids + "]}", 400, "Input 'ids' appears more than once" },
        { "{\"inputs\":[{\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1]}]}", 400, "inputs[0] has no 'name'" },
        { "{\"inputs\":[{\"name\":\"ids\",\"shape\":[1],\"data\":[1]}]}", 400, "Input 'ids' has no 'datatype'" },
        { "{\"inputs\":[{\"name\":\"ids\",\"datatype\":\"INT64\",\"data\":[1]}]}", 400, "Input 'ids' has no 'shape'" },
        { "{\"inputs\":[{\"name\":\"ids\",\"shape\":[1],\"datatype\":\"INT64\"}]}", 400, "Input 'ids' has no 'data'" },
        { "{\"inputs\":[{\"name\":\"ids\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[\"7\"]}]}", 400, "element 0 is the string \"7\"; INT64 data must be JSON numbers" },
        { "{\"inputs\":[{\"name\":\"ids\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1.5]}]}", 400, "element 0 is 1.5, which is not a valid INT64" },
        { "{\"inputs\":[{\"name\":\"ids\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[null]}]}", 400, "element 0 is null" },
        { "{\"inputs\":[{\"name\":\"ids\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[{}]}]}", 400, "element 0 of 'data' is an object" },
        { "{\"inputs\":[{\"name\":\"ids\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[99999999999999999999]}]}", 400, "which is not a valid INT64 (an integer from -9223372036854775808" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":[[1,2,3],[4,5]]}," + Ids + "]}", 400, "an array at depth 2 has 2 entries where dimension 1 is 3" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":[[1,2,3],4,5,6]}," + Ids + "]}", 400, "nested 'data' has a value at depth 1" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":[[[1],2,3],[4,5,6]]}," + Ids + "]}", 400, "is nested 3 deep but the shape [2,3] has rank 2" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,[2],3]}," + Ids + "]}", 400, "mixes arrays and values" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,1e39]}," + Ids + "]}", 400, "element 2 is 1e39, which is not a valid FP32 (a finite number" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,\"nan\"]}," + Ids + "]}", 400, "element 2 is the string \"nan\"" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":7}," + Ids + "]}", 400, "'data' must be a JSON array of 3 elements" },
        { "{\"id\":5,\"inputs\":[]}", 400, "'id' must be a string" },
        { "{\"parameters\":{\"binary_data_output\":\"yes\"},\"inputs\":[]}", 400, "parameters.binary_data_output must be true or false" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}," + Ids + "],\"outputs\":[{\"name\":\"nope\"}]}", 400, "Unknown output 'nope'. The model's outputs are 'x_out', 'ids_out'" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}," + Ids + "],\"outputs\":[{\"name\":\"x_out\"},{\"name\":\"x_out\"}]}", 400, "Output 'x_out' is requested more than once" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[100000000,3],\"datatype\":\"FP32\",\"data\":[]}," + Ids + "]}", 413, "the limit of 67108864 elements" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[9223372036854775807,3],\"datatype\":\"FP32\",\"data\":[]}," + Ids + "]}", 413, "the limit of 67108864 elements" },
        { "", 400, "not valid" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Infer_WithMalformedRequest_AnswersExactStatusAndUsefulMessage(string body, int status, string messagePart)
    {
        var handler = new ProtocolHandler(_repository);
        var reply = await handler.SendJsonAsync(Path, body);

        Assert.Equal(status, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Contains(messagePart, reply.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("INT8", "128", "not a valid INT8 (an integer from -128 to 127)")]
    [InlineData("INT8", "-129", "not a valid INT8")]
    [InlineData("UINT8", "256", "not a valid UINT8 (an integer from 0 to 255)")]
    [InlineData("UINT8", "-1", "not a valid UINT8")]
    [InlineData("UINT16", "65536", "not a valid UINT16")]
    [InlineData("UINT64", "-1", "not a valid UINT64")]
    [InlineData("FP16", "65520", "not a valid FP16 (a finite number within +/-65504)")]
    [InlineData("BOOL", "1", "BOOL data must be true or false")]
    [InlineData("BYTES", "1", "BYTES data must be JSON strings")]
    public async Task Infer_WithValueOutOfRangeForItsType_IsBadRequestNamingModelTensorAndRange(string datatype, string value, string messagePart)
    {
        TensorElementTypes.TryParseProtocolName(datatype, out var type);
        var handler = new ProtocolHandler(new FakeModelRepository().Add("m", new EchoSession(("v", type, [-1]))));
        var reply = await handler.SendJsonAsync("/v2/models/m/infer", $$"""{"inputs":[{"name":"v","shape":[1],"datatype":"{{datatype}}","data":[{{value}}]}]}""");

        Assert.Equal(400, reply.Status);
        Assert.Contains("Model 'm', input 'v'", reply.Error, StringComparison.Ordinal);
        Assert.Contains(messagePart, reply.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_WithBadInput_NeverRunsTheModel()
    {
        var session = new EchoSession(("v", TensorElementType.Int8, [-1]));
        var handler = new ProtocolHandler(new FakeModelRepository().Add("m", session));
        await handler.SendJsonAsync("/v2/models/m/infer", """{"inputs":[{"name":"v","shape":[2],"datatype":"INT8","data":[1,300]}]}""");
        Assert.Equal(0, session.Runs);
    }

    [Fact]
    public async Task Infer_WithMultipartBody_IsUnsupportedMediaType()
    {
        var handler = new ProtocolHandler(_repository);
        var reply = await handler.SendAsync("POST", Path, Encoding.UTF8.GetBytes(InferJsonTests.TwoInputs()), "multipart/form-data; boundary=x");
        Assert.Equal(415, reply.Status);
        Assert.Contains("multipart/form-data", reply.Error, StringComparison.Ordinal);
    }
}
