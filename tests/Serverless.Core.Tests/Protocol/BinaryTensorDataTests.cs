using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Protocol;

public class BinaryTensorDataTests
{
    private const string Path = "/v2/models/echo/infer";

    private readonly ProtocolHandler _handler = new(ProtocolTestClient.EchoRepository());

    public static TheoryData<string, byte[]> EveryDatatype => new()
    {
        { "BOOL", [1, 0, 1] },
        { "UINT8", [0, 7, 255] },
        { "INT8", [0x80, 0, 0x7f] },
        { "UINT16", Bytes<ushort>(0, 7, 65535) },
        { "INT16", Bytes<short>(-32768, 0, 32767) },
        { "UINT32", Bytes<uint>(0, 7, uint.MaxValue) },
        { "INT32", Bytes<int>(int.MinValue, 0, int.MaxValue) },
        { "UINT64", Bytes<ulong>(0, 7, ulong.MaxValue) },
        { "INT64", Bytes<long>(long.MinValue, 0, long.MaxValue) },
        { "FP16", Bytes<Half>((Half)0.5f, Half.NaN, Half.MaxValue) },
        { "FP32", Bytes<float>(0.1f, float.NaN, float.Epsilon) },
        { "FP64", Bytes<double>(0.1, double.NegativeInfinity, double.Epsilon) },
        { "BYTES", StringElements("a", "", "\u00e9\u0000\u00ff") },
    };

    [Theory]
    [MemberData(nameof(EveryDatatype))]
    public async Task Infer_EveryDatatypeInBinary_RoundTripsByteForByte(string datatype, byte[] data)
    {
        TensorElementTypes.TryParseProtocolName(datatype, out var type);
        var handler = new ProtocolHandler(new FakeModelRepository().Add("m", new EchoSession(("v", type, [-1]))));
        var reply = await handler.SendBinaryAsync("/v2/models/m/infer",
            $$$"""{"inputs":[{"name":"v","shape":[3],"datatype":"{{{datatype}}}","parameters":{"binary_data_size":{{{data.Length}}}}}],"parameters":{"binary_data_output":true}}""", data);

        Assert.Equal(200, reply.Status);
        Assert.Equal("application/octet-stream", reply.ContentType);
        var output = reply.Json.RootElement.GetProperty("outputs")[0];
        Assert.Equal(data.Length, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(data, reply.Binary);
    }

    [Fact]
    public async Task Infer_MixedJsonAndBinaryInputsAndOutputs_WorkInOneRequest()
    {
        var x = Bytes<float>(1.5f, -2, 3);
        var reply = await _handler.SendBinaryAsync(Path,
            """{"inputs":[{"name":"ids","shape":[2],"datatype":"INT64","data":[4,5]},{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}],"outputs":[{"name":"x_out"},{"name":"ids_out","parameters":{"binary_data":true}}]}""", x);

        Assert.Equal(200, reply.Status);
        var outputs = reply.Json.RootElement.GetProperty("outputs");
        Assert.Equal("[1.5,-2,3]", outputs[0].GetProperty("data").GetRawText());
        Assert.Equal(16, outputs[1].GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
        Assert.Equal(Bytes<long>(4, 5), reply.Binary);
        Assert.Equal(reply.Body.Length - 16, int.Parse(reply.Header("Inference-Header-Content-Length")!));
    }

    [Fact]
    public async Task Infer_PerOutputBinaryFalse_OverridesBinaryDataOutput()
    {
        var reply = await _handler.SendJsonAsync(Path,
            """{"parameters":{"binary_data_output":true},"outputs":[{"name":"x_out","parameters":{"binary_data":false}},{"name":"ids_out"}],"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]},{"name":"ids","shape":[1],"datatype":"INT64","data":[9]}]}""");
        var outputs = reply.Json.RootElement.GetProperty("outputs");
        Assert.Equal("[1,2,3]", outputs[0].GetProperty("data").GetRawText());
        Assert.False(outputs[1].TryGetProperty("data", out _));
        Assert.Equal(Bytes<long>(9), reply.Binary);
    }

    [Fact]
    public async Task Infer_RawBinaryBody_InfersTheBatchFromTheSizeAndAnswersBinary()
    {
        var handler = new ProtocolHandler(new FakeModelRepository().Add("raw", new EchoSession(("x", TensorElementType.Float, [-1, 2]))));
        var data = Bytes<float>(1, 2, 3, 4, 5, 6);
        var reply = await handler.SendAsync("POST", "/v2/models/raw/infer", data, "application/octet-stream", "0");

        Assert.Equal(200, reply.Status);
        var output = reply.Json.RootElement.GetProperty("outputs")[0];
        Assert.Equal("[3,2]", output.GetProperty("shape").GetRawText());
        Assert.Equal(data, reply.Binary);
    }

    [Theory]
    [InlineData(new long[] { -1, 3, -1, -1 }, 24, "only the first dimension may be dynamic")]
    [InlineData(new long[] { -1, 2 }, 12, "whole number of 8-byte items, but it has 12 bytes")]
    [InlineData(new long[] { 2, 2 }, 12, "binary_data_size is 12 bytes but shape [2,2] of FP32 needs 16 bytes")]
    public async Task Infer_RawBinaryBodyThatCannotBeShaped_IsBadRequestSayingHowToSendIt(long[] shape, int bytes, string messagePart)
    {
        var handler = new ProtocolHandler(new FakeModelRepository().Add("raw", new EchoSession(("x", TensorElementType.Float, shape))));
        var reply = await handler.SendAsync("POST", "/v2/models/raw/infer", new byte[bytes], "application/octet-stream", "0");
        Assert.Equal(400, reply.Status);
        Assert.Contains(messagePart, reply.Error);
    }

    [Fact]
    public async Task Infer_RawBinaryBodyForATwoInputModel_IsBadRequest()
    {
        var reply = await _handler.SendAsync("POST", Path, new byte[12], "application/octet-stream", "0");
        Assert.Equal(400, reply.Status);
        Assert.Contains("only works for models with one input", reply.Error);
    }

    public static TheoryData<string, byte[], string?, string> Inconsistencies => new()
    {
        // sizes that do not add up to the body
        { """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}},{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}]}""", new byte[16], null, "binary_data_size values add up to 12" },
        { """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}},{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}]}""", new byte[8], null, "declares binary_data_size 12 but only 8 bytes of binary data remain" },
        { """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]},{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}]}""", new byte[4], null, "4 bytes of binary data after the" },
        // declared size that does not match shape x dtype
        { """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":8}},{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}]}""", new byte[8], null, "declares binary_data_size 8 but shape [1,3] of FP32 needs 12 bytes" },
        // header length past the end of the body
        { """{"inputs":[]}""", [], "9999", "Inference-Header-Content-Length is 9999 but the body has only" },
        { """{"inputs":[]}""", [], "-5", "is not a non-negative integer" },
        { """{"inputs":[]}""", [], "abc", "'abc' is not a non-negative integer" },
        // header length that cuts the JSON short
        { """{"inputs":[]}""", [], "5", "the request JSON (the first 5 bytes of the body, per Inference-Header-Content-Length) is not valid" },
        // binary_data_size together with data
        { """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3],"parameters":{"binary_data_size":12}},{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}]}""", new byte[12], null, "has both 'data' and parameters.binary_data_size" },
        { """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":-12}},{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}]}""", new byte[12], null, "binary_data_size must be a non-negative integer" },
    };

    [Theory]
    [MemberData(nameof(Inconsistencies))]
    public async Task Infer_WithInconsistentBinaryData_IsBadRequestWithThePreciseReason(string json, byte[] binary, string? headerOverride, string messagePart)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var body = header.Concat(binary).ToArray();
        var reply = await _handler.SendAsync("POST", Path, body, "application/octet-stream", headerOverride ?? header.Length.ToString());
        Assert.Equal(400, reply.Status);
        Assert.Contains(messagePart, reply.Error);
    }

    [Fact]
    public async Task Infer_BinaryDataSizeWithoutTheHeader_IsBadRequest()
    {
        var reply = await _handler.SendJsonAsync(Path,
            """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}},{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}]}""");
        Assert.Equal(400, reply.Status);
        Assert.Contains("no Inference-Header-Content-Length header", reply.Error);
    }

    [Theory]
    [InlineData(new byte[] { 5, 0, 0, 0, (byte)'a', (byte)'b' }, "BYTES element 0 declares 5 bytes but only 2 remain")]
    [InlineData(new byte[] { 1, 0, 0, 0, (byte)'a', 0, 0 }, "ends after 1 of 2 elements")]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 9 }, "1 bytes left after the 2 elements")]
    public async Task Infer_BytesElementsThatDoNotFitTheirTensor_AreBadRequests(byte[] data, string messagePart)
    {
        var handler = new ProtocolHandler(new FakeModelRepository().Add("s", new EchoSession(("t", TensorElementType.String, [2]))));
        var reply = await handler.SendBinaryAsync("/v2/models/s/infer",
            $$$"""{"inputs":[{"name":"t","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":{{{data.Length}}}}}]}""", data);
        Assert.Equal(400, reply.Status);
        Assert.Contains(messagePart, reply.Error);
    }

    [Fact]
    public async Task Infer_BinaryBoolOtherThanZeroOrOne_IsBadRequest()
    {
        var handler = new ProtocolHandler(new FakeModelRepository().Add("b", new EchoSession(("t", TensorElementType.Bool, [2]))));
        var reply = await handler.SendBinaryAsync("/v2/models/b/infer",
            """{"inputs":[{"name":"t","shape":[2],"datatype":"BOOL","parameters":{"binary_data_size":2}}]}""", [1, 2]);
        Assert.Equal(400, reply.Status);
        Assert.Contains("BOOL element 1 is the byte 2", reply.Error);
    }

    [Fact]
    public async Task Infer_BinaryBytesOutputThatIsNotUtf8_IsOnlyWrittenAsBinary()
    {
        var handler = new ProtocolHandler(new FakeModelRepository().Add("s", new EchoSession(("t", TensorElementType.String, [1]))));
        var data = StringElements("\u00ff");
        data[4] = 0xff; // a lone 0xFF byte is never valid UTF-8
        data = [.. data.AsSpan(0, 5)];
        data[0] = 1;
        var json = await handler.SendBinaryAsync("/v2/models/s/infer", """{"inputs":[{"name":"t","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":5}}]}""", data);
        Assert.Equal(400, json.Status);
        Assert.Contains("not valid UTF-8", json.Error);

        var binary = await handler.SendBinaryAsync("/v2/models/s/infer", """{"inputs":[{"name":"t","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":5}}],"parameters":{"binary_data_output":true}}""", data);
        Assert.Equal(200, binary.Status);
        Assert.Equal(data, binary.Binary);
    }

    internal static byte[] Bytes<T>(params T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    internal static byte[] StringElements(params string[] values)
    {
        var output = new List<byte>();
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            output.AddRange(length);
            output.AddRange(bytes);
        }

        return [.. output];
    }
}
