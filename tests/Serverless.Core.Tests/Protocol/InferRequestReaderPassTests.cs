using System.Text;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Protocol;

/// <summary>
/// <see cref="InferRequestReader.Read"/> jumps over flat data arrays instead of tokenizing them, and falls back
/// to the plain pass (<see cref="InferRequestReader.ReadPlain"/>) on any failure. Whatever the body, both must
/// end the same way: the same tensors, or the same exception type and exact message (JSON positions included).
/// </summary>
public sealed class InferRequestReaderPassTests
{
    private const string Ids = """{"name":"ids","shape":[1],"datatype":"INT64","data":[1]}""";

    public static TheoryData<string> Bodies => new()
    {
        // Good requests: every property order, whitespace and newlines inside and around the arrays.
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2.5,-3e-2]},""" + Ids + "]}",
        """{"inputs":[{"data":[ 1 ,	2 ,3 ] ,"datatype":"FP32","shape":[1,3],"name":"x"},{"data":[7],"name":"ids","shape":[1],"datatype":"INT64"}],"id":"a"}""",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":[\n1,\r\n2,3,\n4,5,6\n]}," + Ids + "],\n\"outputs\":[{\"name\":\"x_out\"}]}",
        """{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,"NaN","-Infinity"]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[0,3],"datatype":"FP32","data":[]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3],"data":[4,5,6]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1 2 3],"data":[4,5,6]},""" + Ids + "]}", // the first one is still checked
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3],"data":[4 5 6]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3],"parameters":{"data":[1 2]}},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]},""" + Ids + """],"extra":{"data":[1 2]}}""",

        // Bad JSON inside a flat array, and after one (positions must be the plain pass's).
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,tru]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1 2 3]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3,]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[01,2,3]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1.,2,3]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[+1,2,3]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3}},""" + Ids + "]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,\n2,\n3]}," + Ids + "],\"outputs\":[{\"name\":}]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]},""" + Ids + "]} trailing",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]""",
        """{"inputs":[{"name":"ids","shape":[2],"datatype":"INT64","data":[1,x]}]}""",

        // Bad data that is good JSON: the data reader's messages.
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,1e39]},""" + Ids + "]}",
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,true]},""" + Ids + "]}",
        """{"inputs":[{"name":"ids","shape":[1],"datatype":"INT64","data":[1.5]}]}""",

        // A bad flat array followed by an error the plain pass never reaches, and the other way round.
        """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3,]},""" + Ids + """],"outputs":[{"name":"nope"}]}""",
        """{"outputs":[{"name":"nope"}],"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3,]},""" + Ids + "]}",
        """{"inputs":[{"data":[1,2,x],"name":"nope"},""" + Ids + "]}",
        """{"inputs":[{"name":"x","datatype":"INT32","data":[1,2,x],"shape":[1,3]},""" + Ids + "]}",
        """{"inputs":[{"name":"ids","shape":[1],"datatype":"INT64","data":[1],"parameters":{"binary_data_size":8}}]}""",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Read_EndsExactlyLikeThePlainPass(string body)
    {
        var json = Encoding.UTF8.GetBytes(body);
        var (fastTensors, fastError) = Run(json, plain: false);
        var (plainTensors, plainError) = Run(json, plain: true);

        Assert.Equal(plainError, fastError);
        Assert.Equal(plainTensors, fastTensors);
    }

    [Fact]
    public void Read_BadFlatArray_ReportsThePositionOfTheBadByteInTheWholeBody()
    {
        // The jump would otherwise count positions from the restarted reader.
        var json = Encoding.UTF8.GetBytes("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,\n2,\n3]}," + Ids + "],\"outputs\":[{\"name\":}]}");
        var (_, error) = Run(json, plain: false);

        Assert.NotNull(error);
        Assert.Contains("'}' is an invalid start of a value", error, StringComparison.Ordinal);
        Assert.Contains("LineNumber: 2 | BytePositionInLine: 81.", error, StringComparison.Ordinal);
    }

    private static (string? Tensors, string? Error) Run(byte[] json, bool plain)
    {
        using var session = new EchoSession(("x", TensorElementType.Float, [-1, 3]), ("ids", TensorElementType.Int64, [-1]));
        var signature = ModelSignature.For(session);
        var pool = new HostTensorPool();
        var request = new InferRequest();
        request.Reset(signature);
        var context = new InferContext("echo", 1 << 20, pool, json.Length);
        try
        {
            if (plain)
            {
                InferRequestReader.ReadPlain(json, ReadOnlySpan<byte>.Empty, false, signature, request, context);
            }
            else
            {
                InferRequestReader.Read(json, ReadOnlySpan<byte>.Empty, false, signature, request, context);
            }

            return (Describe(request), null);
        }
        catch (Exception e) when (e is InferenceException or JsonException)
        {
            return (null, $"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            request.Release(pool);
        }
    }

    private static string Describe(InferRequest request)
    {
        var text = new StringBuilder();
        foreach (var tensor in request.Inputs)
        {
            text.Append(tensor.Name).Append(' ').Append(tensor.ElementType).Append(" [").AppendJoin(',', tensor.Shape.ToArray()).Append("] ")
                .Append(Convert.ToHexString(tensor.Data)).Append('\n');
        }

        text.Append("outputs ").AppendJoin(',', request.OutputIndices.Take(request.OutputCount)).Append(" id ").Append(Encoding.UTF8.GetString(request.Id));
        return text.ToString();
    }
}
