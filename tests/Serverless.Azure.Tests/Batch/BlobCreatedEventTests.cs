using System.Text.Json;
using Serverless.Azure.Batch;

namespace Serverless.Azure.Tests.Batch;

public sealed class BlobCreatedEventTests
{
    [Fact]
    public void SplitBlobUrl_HostStyle_TakesTheContainerFromThePathAndDecodesTheKey()
    {
        var (root, key) = BlobCreatedEvent.SplitBlobUrl(new Uri("https://acct.blob.core.windows.net/batch/incoming/text-direction/a%20b%2Bc.jsonl"));

        Assert.Equal(new Uri("https://acct.blob.core.windows.net/batch"), root);
        Assert.Equal("incoming/text-direction/a b+c.jsonl", key);
    }

    [Fact]
    public void SplitBlobUrl_AzuritePathStyle_KeepsTheAccountInTheRoot()
    {
        var (root, key) = BlobCreatedEvent.SplitBlobUrl(new Uri("http://127.0.0.1:10000/devstoreaccount1/batch/incoming/m/x.jsonl"));

        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/batch"), root);
        Assert.Equal("incoming/m/x.jsonl", key);
    }

    [Fact]
    public void SplitBlobUrl_OfAContainerUrl_IsAFormatErrorSayingWhatIsExpected()
    {
        var ex = Assert.Throws<FormatException>(() => BlobCreatedEvent.SplitBlobUrl(new Uri("https://acct.blob.core.windows.net/batch")));

        Assert.Contains("<container>/<blob>", ex.Message);
    }

    [Fact]
    public void Parse_ReadsBothEventGridAndCloudEventsSchemas()
    {
        using var grid = JsonDocument.Parse("""{"id":"1","eventType":"Microsoft.Storage.BlobCreated","data":{"url":"https://a.blob.core.windows.net/c/k","eTag":"0x1"}}""");
        using var cloud = JsonDocument.Parse("""{"id":"2","type":"Microsoft.Storage.BlobCreated","data":{"url":"https://a.blob.core.windows.net/c/k"}}""");

        var g = BlobCreatedEvent.Parse(grid.RootElement);
        var c = BlobCreatedEvent.Parse(cloud.RootElement);

        Assert.True(g.IsBlobCreated);
        Assert.Equal("0x1", g.ETag);
        Assert.True(c.IsBlobCreated);
        Assert.Equal(new Uri("https://a.blob.core.windows.net/c/k"), c.Url);
    }

    [Fact]
    public void Parse_WithARelativeUrl_IsAFormatErrorNamingTheEvent()
    {
        using var doc = JsonDocument.Parse("""{"id":"evt-9","eventType":"Microsoft.Storage.BlobCreated","data":{"url":"c/k"}}""");

        var ex = Assert.Throws<FormatException>(() => BlobCreatedEvent.Parse(doc.RootElement));

        Assert.Contains("evt-9", ex.Message);
    }
}
