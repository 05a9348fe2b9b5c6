using System.Net.Http.Headers;
using Serverless.Storage.AzureBlob.Auth;

namespace Serverless.Storage.AzureBlob.Tests.Auth;

public sealed class SharedKeyAuthorizerTests
{
    [Fact]
    public void StringToSign_ForAGet_HasEmptyContentLength_SortedXmsHeaders_AndSortedLowercasedQuery()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://acct.blob.core.windows.net/models?restype=container&comp=list&Prefix=text%20dir%2F&maxresults=3");
        request.Headers.TryAddWithoutValidation("x-ms-version", "2021-08-06");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Sat, 21 Nov 2026 10:00:00 GMT");
        request.Headers.TryAddWithoutValidation("X-MS-Client-Request-Id", "  a   b ");

        var s = SharedKeyAuthorizer.BuildStringToSign(request, "acct");

        Assert.Equal(
            "GET\n\n\n\n\n\n\n\n\n\n\n\n" +
            "x-ms-client-request-id:a b\n" +
            "x-ms-date:Sat, 21 Nov 2026 10:00:00 GMT\n" +
            "x-ms-version:2021-08-06\n" +
            "/acct/models\ncomp:list\nmaxresults:3\nprefix:text dir/\nrestype:container",
            s);
    }

    [Fact]
    public void StringToSign_ForAPut_SignsLengthAndContentType_AndAzuritePathRepeatsTheAccount()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "http://127.0.0.1:10000/devstoreaccount1/c1/a%20b/model.onnx")
        {
            Content = new ByteArrayContent(new byte[42]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");

        var s = SharedKeyAuthorizer.BuildStringToSign(request, "devstoreaccount1");

        Assert.Equal(
            "PUT\n\n\n42\n\napplication/octet-stream\n\n\n\n\n\n\n" +
            "x-ms-blob-type:BlockBlob\n" +
            "/devstoreaccount1/devstoreaccount1/c1/a%20b/model.onnx",
            s);
    }

    [Fact]
    public void StringToSign_WithZeroLengthContent_SignsAnEmptyLength()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "https://acct.blob.core.windows.net/c1?restype=container")
        {
            Content = new ByteArrayContent([]),
        };

        var s = SharedKeyAuthorizer.BuildStringToSign(request, "acct");

        Assert.StartsWith("PUT\n\n\n\n", s);
    }

    [Fact]
    public async Task Authorize_AddsASharedKeyHeaderWithTheAccountName()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://acct.blob.core.windows.net/c1/b");
        var authorizer = new SharedKeyAuthorizer("acct", Convert.ToBase64String(new byte[64]));

        await authorizer.AuthorizeAsync(request, CancellationToken.None);

        var value = Assert.Single(request.Headers.GetValues("Authorization"));
        Assert.StartsWith("SharedKey acct:", value);
        Assert.Equal(32, Convert.FromBase64String(value["SharedKey acct:".Length..]).Length);
    }
}
