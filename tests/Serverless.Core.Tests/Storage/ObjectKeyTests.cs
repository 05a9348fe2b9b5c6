using Serverless.Core.Errors;
using Serverless.Core.Storage;

namespace Serverless.Core.Tests.Storage;

public sealed class ObjectKeyTests
{
    [Theory]
    [InlineData("text-direction/1/model.onnx")]
    [InlineData("model.json")]
    [InlineData("a/b.c/..d/e")]
    public void Validate_WithARelativeKey_ReturnsIt(string key) => Assert.Equal(key, ObjectKey.Validate(key));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("../secrets", "'..' segment")]
    [InlineData("a/../../etc/passwd", "'..' segment")]
    [InlineData("a/./b", "'.' segment")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("C:/Windows", "absolute")]
    [InlineData("a\\..\\b", "backslash")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a/b/", "empty segment")]
    [InlineData("a\0b", "control character U+0000")]
    [InlineData("a\nb", "control character U+000A")]
    public void Validate_WithAPathTrick_ThrowsInvalidInputSayingWhy(string key, string why)
    {
        var error = Assert.Throws<InferenceException>(() => ObjectKey.Validate(key));

        Assert.Equal(ErrorCode.InvalidInput, error.Code);
        Assert.Contains(why, error.Message);
        Assert.DoesNotContain("\n", error.Message.Replace("\\u000a", string.Empty));
    }

    [Fact]
    public void Validate_WithAnOverlongKey_Throws() =>
        Assert.Throws<InferenceException>(() => ObjectKey.Validate(new string('a', ObjectKey.MaxLength + 1)));

    [Theory]
    [InlineData("")]
    [InlineData("models/")]
    [InlineData("models/te")]
    public void ValidatePrefix_AllowsEmptyAndTrailingSlash(string prefix) => Assert.Equal(prefix, ObjectKey.ValidatePrefix(prefix));

    [Fact]
    public void ValidatePrefix_StillRejectsDotDot() =>
        Assert.Throws<InferenceException>(() => ObjectKey.ValidatePrefix("../"));
}
