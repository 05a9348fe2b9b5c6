using Serverless.Core.Errors;
using Serverless.Storage.AzureBlob.Configuration;

namespace Serverless.Storage.AzureBlob.Tests.Configuration;

public sealed class StorageConnectionStringTests
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    [Fact]
    public void Parse_APortalConnectionString_BuildsTheHostStyleEndpoint()
    {
        var cs = StorageConnectionString.Parse($"DefaultEndpointsProtocol=https;AccountName=mystore;AccountKey={Key};EndpointSuffix=core.windows.net");

        Assert.Equal("mystore", cs.AccountName);
        Assert.Equal(new Uri("https://mystore.blob.core.windows.net/"), cs.BlobEndpoint);
        Assert.Equal(Key, cs.AccountKey);
        Assert.Null(cs.SharedAccessSignature);
    }

    [Fact]
    public void Parse_UseDevelopmentStorage_PointsAtAzuriteWithTheWellKnownAccount()
    {
        var cs = StorageConnectionString.Parse("UseDevelopmentStorage=true");

        Assert.Equal("devstoreaccount1", cs.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/"), cs.BlobEndpoint);
        Assert.Equal(StorageConnectionString.DevelopmentAccountKey, cs.AccountKey);
    }

    [Fact]
    public void Parse_WithBlobEndpointAndSas_TakesTheAccountFromThePathAndKeepsTheToken()
    {
        var cs = StorageConnectionString.Parse("BlobEndpoint=http://127.0.0.1:12345/devstoreaccount1;SharedAccessSignature=?sv=2021-08-06&sig=abc%3D");

        Assert.Equal("devstoreaccount1", cs.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:12345/devstoreaccount1/"), cs.BlobEndpoint);
        Assert.Null(cs.AccountKey);
        Assert.Equal("sv=2021-08-06&sig=abc%3D", cs.SharedAccessSignature);
    }

    [Fact]
    public void Parse_WithoutKeyOrSas_FailsSayingWhatIsMissing()
    {
        var ex = Assert.Throws<InferenceException>(() => StorageConnectionString.Parse("AccountName=mystore"));

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains("neither AccountKey nor SharedAccessSignature", ex.Message);
        Assert.Contains("mystore", ex.Message);
    }

    [Fact]
    public void Parse_WithAKeyThatIsNotBase64_FailsWithoutEchoingTheKey()
    {
        var ex = Assert.Throws<InferenceException>(() => StorageConnectionString.Parse("AccountName=mystore;AccountKey=not*base64!"));

        Assert.Contains("not valid base64", ex.Message);
        Assert.DoesNotContain("not*base64!", ex.Message);
    }

    [Fact]
    public void Parse_WithASegmentWithoutEquals_FailsNamingTheSegment()
    {
        var ex = Assert.Throws<InferenceException>(() => StorageConnectionString.Parse("AccountName=a;garbage"));

        Assert.Contains("'garbage'", ex.Message);
    }

    [Fact]
    public void ToString_HidesTheKey()
    {
        var cs = StorageConnectionString.Parse($"AccountName=mystore;AccountKey={Key}");

        Assert.DoesNotContain(Key, cs.ToString());
        Assert.Contains("AccountKey=***", cs.ToString());
    }
}
