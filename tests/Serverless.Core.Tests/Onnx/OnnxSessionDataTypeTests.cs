using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Core.Tests.TestModels;

namespace Serverless.Core.Tests.Onnx;

public class OnnxSessionDataTypeTests
{
    private static readonly SessionSettings OneThread = new() { IntraOpThreads = 1 };

    public static TheoryData<TensorElementType> NumericTypes() =>
    [
        TensorElementType.Bool,
        TensorElementType.UInt8,
        TensorElementType.UInt16,
        TensorElementType.UInt32,
        TensorElementType.UInt64,
        TensorElementType.Int8,
        TensorElementType.Int16,
        TensorElementType.Int32,
        TensorElementType.Int64,
        TensorElementType.Float16,
        TensorElementType.Float,
        TensorElementType.Double,
    ];

    [Theory]
    [MemberData(nameof(NumericTypes))]
    public void Identity_RoundTripsEveryNumericTypeBitForBit(TensorElementType type)
    {
        using var session = OnnxSessionFactory.Instance.Create($"identity-{type}", TinyModels.Identity(type, "n", 3), OneThread);
        Assert.Equal(type, session.Inputs[0].ElementType);
        Assert.Equal(type, session.Outputs[0].ElementType);

        using var x = new HostTensor();
        x.Initialize("x", type, [2, 3]);
        FillDistinct(x.Data, type);
        var results = new IOutputTensor?[1];
        session.Run([x], [0], results);

        using var y = results[0]!;
        Assert.Equal(type, y.ElementType);
        Assert.Equal([2L, 3L], y.Shape.ToArray());
        Assert.Equal(6, y.ElementCount);
        Assert.True(y.Bytes.SequenceEqual(x.Data), $"{type}: output bytes differ from input bytes");
    }

    [Fact]
    public void Identity_RoundTripsStringsIncludingEmptyAndMultiByteOnes()
    {
        using var session = OnnxSessionFactory.Instance.Create("identity-string", TinyModels.Identity(TensorElementType.String, "n"), OneThread);
        Assert.Equal(TensorElementType.String, session.Inputs[0].ElementType);
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.String, [4]);
        x.AppendString("hello"u8);
        x.AppendString(""u8);
        x.AppendString("grüße, 世界"u8);
        x.AppendString(new byte[1000].Select(_ => (byte)'z').ToArray());
        var results = new IOutputTensor?[1];

        session.Run([x], [0], results);

        using var y = results[0]!;
        Assert.Equal(TensorElementType.String, y.ElementType);
        Assert.Equal([4L], y.Shape.ToArray());
        Assert.True(y.Bytes.IsEmpty);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(y.GetStringBytes(i).SequenceEqual(x.GetStringBytes(i)), $"element {i} differs");
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => y.GetStringBytes(4).Length);
    }

    [Fact]
    public void Identity_WithOnlyEmptyStrings_ReturnsEmptyStrings()
    {
        using var session = OnnxSessionFactory.Instance.Create("identity-string", TinyModels.Identity(TensorElementType.String, "n"), OneThread);
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.String, [2]);
        x.AppendString(""u8);
        x.AppendString(""u8);
        var results = new IOutputTensor?[1];
        session.Run([x], [0], results);
        using var y = results[0]!;
        Assert.Equal(0, y.GetStringBytes(0).Length);
        Assert.Equal(0, y.GetStringBytes(1).Length);
    }

    [Fact]
    public void StringInput_WithAZeroByte_IsBadInputExplainingWhy()
    {
        using var session = OnnxSessionFactory.Instance.Create("identity-string", TinyModels.Identity(TensorElementType.String, "n"), OneThread);
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.String, [1]);
        x.AppendString("a\0b"u8);
        var ex = Assert.Throws<InferenceException>(() => session.Run([x], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Equal("x", ex.Tensor);
        Assert.Contains("zero byte", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StringInput_WithFewerElementsThanItsShape_IsBadInput()
    {
        using var session = OnnxSessionFactory.Instance.Create("identity-string", TinyModels.Identity(TensorElementType.String, "n"), OneThread);
        using var x = new HostTensor();
        x.Initialize("x", TensorElementType.String, [3]);
        x.AppendString("only one"u8);
        var ex = Assert.Throws<InferenceException>(() => session.Run([x], [0], new IOutputTensor?[1]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("holds 3 strings but 1 were given", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NumericOutput_AskedForStrings_Throws()
    {
        using var session = OnnxSessionFactory.Instance.Create("identity-f", TinyModels.Identity(TensorElementType.Float, 2), OneThread);
        using var x = OnnxSessionRunTests.Floats("x", [2], 1, 2);
        var results = new IOutputTensor?[1];
        session.Run([x], [0], results);
        using var y = results[0]!;
        Assert.Throws<InvalidOperationException>(() => y.GetStringBytes(0).Length);
    }

    /// <summary>Writes a different, valid value into every element (bools as 0/1, floats as finite numbers).</summary>
    private static void FillDistinct(Span<byte> data, TensorElementType type)
    {
        switch (type)
        {
            case TensorElementType.Bool:
                for (var i = 0; i < data.Length; i++) { data[i] = (byte)(i % 2); }
                break;
            case TensorElementType.Float16:
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(data);
                for (var i = 0; i < halves.Length; i++) { halves[i] = (Half)(i * 1.5f - 2f); }
                break;
            case TensorElementType.Float:
                var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data);
                for (var i = 0; i < floats.Length; i++) { floats[i] = (i * 1.25f) - 3.5f; }
                break;
            case TensorElementType.Double:
                var doubles = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(data);
                for (var i = 0; i < doubles.Length; i++) { doubles[i] = Math.PI * (i - 2); }
                break;
            default:
                for (var i = 0; i < data.Length; i++) { data[i] = (byte)(0xA5 ^ (i * 37)); } // includes high bits: sign and range
                break;
        }
    }
}
