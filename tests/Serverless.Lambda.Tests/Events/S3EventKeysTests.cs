using Serverless.Lambda.Events;

namespace Serverless.Lambda.Tests.Events;

public sealed class S3EventKeysTests
{
    [Theory]
    [InlineData("incoming/plain.jsonl", "incoming/plain.jsonl")]
    [InlineData("incoming/my+file.jsonl", "incoming/my file.jsonl")]
    [InlineData("incoming/a%2Bb.jsonl", "incoming/a+b.jsonl")]
    [InlineData("incoming/caf%C3%A9+%281%29.jsonl", "incoming/café (1).jsonl")]
    [InlineData("incoming/100%25.jsonl", "incoming/100%.jsonl")]
    [InlineData("incoming/bad%zz%.jsonl", "incoming/bad%zz%.jsonl")]
    public void Decode_TurnsNotificationKeysBackIntoObjectKeys(string encoded, string expected) =>
        Assert.Equal(expected, S3EventKeys.Decode(encoded));
}
