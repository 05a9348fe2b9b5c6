using Serverless.Core.Errors;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Tensors;

public class HostTensorTests
{
    [Fact]
    public void Initialize_SizesTheBufferFromShapeAndType()
    {
        using var t = new HostTensor();
        t.Initialize("x", TensorElementType.Float, [2, 3]);
        Assert.Equal(6, t.ElementCount);
        Assert.Equal(24, t.ByteLength);
        Assert.Equal(6, t.GetSpan<float>().Length);
        Assert.NotEqual(0, t.DataPointer);
    }

    [Fact]
    public void Initialize_WithNegativeDimension_IsBadInputNamingTheTensor()
    {
        using var t = new HostTensor();
        var ex = Assert.Throws<InferenceException>(() => t.Initialize("x", TensorElementType.Float, [1, -2]));
        Assert.Equal(ErrorCode.InvalidInput, ex.Code);
        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Initialize_OverTheElementLimit_IsPayloadTooLarge()
    {
        using var t = new HostTensor();
        var ex = Assert.Throws<InferenceException>(() => t.Initialize("x", TensorElementType.Float, [1000, 1000], maxElements: 999_999));
        Assert.Equal(ErrorCode.PayloadTooLarge, ex.Code);
    }

    [Fact]
    public void Initialize_WithOverflowingShape_IsPayloadTooLargeNotAnOverflow()
    {
        using var t = new HostTensor();
        var ex = Assert.Throws<InferenceException>(() => t.Initialize("x", TensorElementType.Float, [long.MaxValue / 2, 4]));
        Assert.Equal(ErrorCode.PayloadTooLarge, ex.Code);
    }

    [Fact]
    public void StringTensor_StoresElementsBackToBack()
    {
        using var t = new HostTensor();
        t.Initialize("s", TensorElementType.String, [3]);
        t.AppendString("ab"u8);
        t.AppendString(""u8);
        t.AppendString(new byte[300]);
        Assert.Equal(3, t.StringCount);
        Assert.True(t.GetStringBytes(0).SequenceEqual("ab"u8));
        Assert.Equal(0, t.GetStringBytes(1).Length);
        Assert.Equal(300, t.GetStringBytes(2).Length);
        Assert.Throws<InferenceException>(() => t.AppendString("x"u8));
    }
}
