using System.Text.Json;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Protocol;

public class InferJsonTests
{
    private readonly ProtocolHandler _handler = new(ProtocolTestClient.EchoRepository());

    public static TheoryData<string, string, string> EveryDatatype => new()
    {
        { "BOOL", "[true,false,true]", "[true,false,true]" },
        { "UINT8", "[0,7,255]", "[0,7,255]" },
        { "UINT16", "[0,7,65535]", "[0,7,65535]" },
        { "UINT32", "[0,7,4294967295]", "[0,7,4294967295]" },
        { "UINT64", "[0,7,18446744073709551615]", "[0,7,18446744073709551615]" },
        { "INT8", "[-128,0,127]", "[-128,0,127]" },
        { "INT16", "[-32768,0,32767]", "[-32768,0,32767]" },
        { "INT32", "[-2147483648,0,2147483647]", "[-2147483648,0,2147483647]" },
        { "INT64", "[-9223372036854775808,0,9223372036854775807]", "[-9223372036854775808,0,9223372036854775807]" },
        { "FP16", "[0.5,-2,65504]", "[0.5,-2,65504]" },
        { "FP32", "[0.1,-3.4028235E+38,1E-45]", "[0.1,-3.4028235E+38,1E-45]" },
        { "FP64", "[0.1,-1.7976931348623157E+308,5E-324]", "[0.1,-1.7976931348623157E+308,5E-324]" },
        { "BYTES", "[\"a\",\"\",\"h\\u00e9\\\"\\n\"]", "[\"a\",\"\",\"h\u00e9\\\"\\n\"]" },
    };

    [Theory]
    [MemberData(nameof(EveryDatatype))]
    public async Task Infer_EveryDatatypeInJson_RoundTripsElementForElement(string datatype, string data, string expectedData)
    {
        TensorElementTypes.TryParseProtocolName(datatype, out var type);
        var handler = new ProtocolHandler(new FakeModelRepository().Add("m", new EchoSession(("v", type, [-1]))));
        var reply = await handler.SendJsonAsync("/v2/models/m/infer", $$"""{"inputs":[{"name":"v","shape":[3],"datatype":"{{datatype}}","data":{{data}}}]}""");

        Assert.Equal(200, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        var output = reply.Json.RootElement.GetProperty("outputs")[0];
        Assert.Equal("v_out", output.GetProperty("name").GetString());
        Assert.Equal(datatype, output.GetProperty("datatype").GetString());
        Assert.Equal("[3]", output.GetProperty("shape").GetRawText());
        Assert.Equal(expectedData, output.GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Infer_WritesModelNameVersionAndEchoesTheIdVerbatim()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/echo/versions/2/infer",
            """{"id":"req-\u00e9\"1","inputs":[{"name":"ids","shape":[1],"datatype":"INT64","data":[5]},{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""");

        Assert.Equal(200, reply.Status);
        var root = reply.Json.RootElement;
        Assert.Equal("echo", root.GetProperty("model_name").GetString());
        Assert.Equal("2", root.GetProperty("model_version").GetString());
        Assert.Equal("req-\u00e9\"1", root.GetProperty("id").GetString());
        Assert.Equal(2, root.GetProperty("outputs").GetArrayLength());
    }

    [Fact]
    public async Task Infer_WithoutId_OmitsTheIdAndUsesTheDefaultVersion()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/echo/infer", TwoInputs());
        var root = reply.Json.RootElement;
        Assert.False(root.TryGetProperty("id", out _));
        Assert.Equal("1", root.GetProperty("model_version").GetString());
    }

    [Fact]
    public async Task Infer_WithNestedData_ReadsItRowMajor()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/echo/infer",
            """{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]},{"name":"ids","shape":[0],"datatype":"INT64","data":[]}]}""");
        Assert.Equal(200, reply.Status);
        Assert.Equal("[1,2,3,4,5,6]", reply.Json.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Infer_WithDataBeforeShapeAndInputsInAnyOrder_IsAccepted()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/echo/infer",
            """{"outputs":[{"name":"x_out"}],"inputs":[{"data":[7],"datatype":"INT64","name":"ids","shape":[1]},{"data":[1,2,3],"shape":[1,3],"name":"x","datatype":"FP32"}],"parameters":{"custom":1}}""");
        Assert.Equal(200, reply.Status);
        var outputs = reply.Json.RootElement.GetProperty("outputs");
        Assert.Equal(1, outputs.GetArrayLength());
        Assert.Equal("[1,2,3]", outputs[0].GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Infer_WithOutputsSelected_ReturnsThemInRequestOrder()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/echo/infer",
            """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]},{"name":"ids","shape":[2],"datatype":"INT64","data":[8,9]}],"outputs":[{"name":"ids_out"},{"name":"x_out"}]}""");
        var outputs = reply.Json.RootElement.GetProperty("outputs");
        Assert.Equal("ids_out", outputs[0].GetProperty("name").GetString());
        Assert.Equal("x_out", outputs[1].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Infer_FloatSpecialValues_AreWrittenAsStringsAndAcceptedBack()
    {
        var reply = await _handler.SendJsonAsync("/v2/models/echo/infer",
            """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":["NaN","Infinity","-Infinity"]},{"name":"ids","shape":[0],"datatype":"INT64","data":[]}]}""");
        Assert.Equal(200, reply.Status);
        Assert.Equal("[\"NaN\",\"Infinity\",\"-Infinity\"]", reply.Json.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Infer_ScalarShapeAcceptsABareValue()
    {
        var handler = new ProtocolHandler(new FakeModelRepository().Add("s", new EchoSession(("sr", TensorElementType.Int64, []))));
        var reply = await handler.SendJsonAsync("/v2/models/s/infer", """{"inputs":[{"name":"sr","shape":[],"datatype":"INT64","data":16000}]}""");
        Assert.Equal(200, reply.Status);
        var output = reply.Json.RootElement.GetProperty("outputs")[0];
        Assert.Equal("[]", output.GetProperty("shape").GetRawText());
        Assert.Equal("[16000]", output.GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Infer_ResponseOverTheLimit_IsPayloadTooLargeSuggestingBinary()
    {
        var handler = new ProtocolHandler(ProtocolTestClient.EchoRepository(), new ProtocolOptions { MaxResponseBytes = 100 });
        var reply = await handler.SendJsonAsync("/v2/models/echo/infer",
            """{"inputs":[{"name":"x","shape":[4,3],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,12]},{"name":"ids","shape":[4],"datatype":"INT64","data":[1,2,3,4]}]}""");
        Assert.Equal(413, reply.Status);
        Assert.Contains("binary", reply.Error);
    }

    internal static string TwoInputs() =>
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]},{"name":"ids","shape":[1],"datatype":"INT64","data":[4]}]}""";
}
