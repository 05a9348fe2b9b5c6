using System.Text;
using Serverless.Lambda.Events;

namespace Serverless.Lambda.Tests.Events;

public sealed class EventClassifierTests
{
    private static EventKind Classify(string json) => EventClassifier.Classify(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Classify_RecognisesEveryDocumentedShape()
    {
        Assert.Equal(EventKind.HttpApiV2, Classify(EventSamples.HttpApiV2("POST", "/prod/v2/models/m/infer", "{}")));
        Assert.Equal(EventKind.FunctionUrl, Classify(EventSamples.FunctionUrl("POST", "/v2/models/m/infer", "{}")));
        Assert.Equal(EventKind.RestApiV1, Classify(EventSamples.RestApiV1("POST", "/v2/models/m/infer", "{}")));
        Assert.Equal(EventKind.S3, Classify(EventSamples.S3Put("bucket", "incoming/a.jsonl")));
        Assert.Equal(EventKind.S3TestEvent, Classify(EventSamples.S3TestEvent("bucket")));
        Assert.Equal(EventKind.Sqs, Classify(EventSamples.Sqs(EventSamples.S3Put("bucket", "incoming/a.jsonl"))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"hello\":\"world\"}")]
    [InlineData("{\"Records\":[]}")]
    [InlineData("{\"Records\":[{\"eventSource\":\"aws:kinesis\"}]}")]
    [InlineData("{\"version\":\"2.0\"")]
    public void Classify_AnythingElse_IsUnknown(string json) => Assert.Equal(EventKind.Unknown, Classify(json));
}
