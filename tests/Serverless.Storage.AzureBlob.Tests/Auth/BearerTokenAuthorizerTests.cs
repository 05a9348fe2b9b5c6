using System.Text;
using Serverless.Core.Errors;
using Serverless.Storage.AzureBlob.Auth;
using Serverless.Tests.Azurite;

namespace Serverless.Storage.AzureBlob.Tests.Auth;

public sealed class BearerTokenAuthorizerTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ManagedIdentity_AsksForTheStorageResourceWithTheIdentityHeader_AndParsesTheToken()
    {
        string? query = null;
        string? secret = null;
        using var endpoint = new LoopbackHttpServer(async context =>
        {
            query = context.Request.Url!.Query;
            secret = context.Request.Headers["X-IDENTITY-HEADER"];
            await WriteJsonAsync(context.Response, $$"""{"access_token":"tok-1","expires_on":"{{Start.AddHours(1).ToUnixTimeSeconds()}}","resource":"https://storage.azure.com/","token_type":"Bearer"}""");
        });
        using var http = new HttpClient();
        var source = ManagedIdentityTokenSource.FromEnvironment(http, name => name switch
        {
            "IDENTITY_ENDPOINT" => endpoint.BaseUri + "msi/token",
            "IDENTITY_HEADER" => "s3cret",
            _ => null,
        }, clientId: "11111111-2222-3333-4444-555555555555")!;

        var token = await source.GetTokenAsync(CancellationToken.None);

        Assert.Equal("tok-1", token.Token);
        Assert.Equal(Start.AddHours(1), token.ExpiresOn);
        Assert.Equal("s3cret", secret);
        Assert.Contains("resource=https%3A%2F%2Fstorage.azure.com%2F", query);
        Assert.Contains("api-version=2019-08-01", query);
        Assert.Contains("client_id=11111111-2222-3333-4444-555555555555", query);
    }

    [Fact]
    public void ManagedIdentity_WithoutTheEnvironment_IsNull()
    {
        using var http = new HttpClient();

        Assert.Null(ManagedIdentityTokenSource.FromEnvironment(http, _ => null));
    }

    [Fact]
    public async Task ManagedIdentity_WhenTheEndpointRefuses_IsStorageUnavailableSayingToEnableTheIdentity()
    {
        using var endpoint = new LoopbackHttpServer(async context =>
        {
            context.Response.StatusCode = 400;
            await WriteJsonAsync(context.Response, """{"error":"invalid_request","error_description":"Identity not found"}""");
        });
        using var http = new HttpClient();
        var source = new ManagedIdentityTokenSource(http, new Uri(endpoint.BaseUri, "msi/token"), "s3cret");

        var ex = await Assert.ThrowsAsync<InferenceException>(() => source.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.Equal(ErrorCode.StorageUnavailable, ex.Code);
        Assert.Contains("Identity not found", ex.Message);
        Assert.Contains("Enable a managed identity", ex.Message);
    }

    [Fact]
    public async Task Authorizer_CachesTheToken_AndRefreshesFiveMinutesBeforeExpiry()
    {
        var clock = new ManualTimeProvider(Start);
        var source = new CountingSource(clock);
        using var authorizer = new BearerTokenAuthorizer(source, clock);

        var first = await authorizer.GetTokenAsync(CancellationToken.None);
        clock.Now = Start.AddMinutes(54); // 6 minutes before expiry: still fresh
        var second = await authorizer.GetTokenAsync(CancellationToken.None);
        clock.Now = Start.AddMinutes(55.5); // inside the 5-minute margin: refreshed
        var third = await authorizer.GetTokenAsync(CancellationToken.None);

        Assert.Equal("token-1", first.Token);
        Assert.Same(first, second);
        Assert.Equal("token-2", third.Token);
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task Authorizer_ConcurrentCallers_ShareOneFetch()
    {
        var clock = new ManualTimeProvider(Start);
        var source = new CountingSource(clock) { Delay = TimeSpan.FromMilliseconds(100) };
        using var authorizer = new BearerTokenAuthorizer(source, clock);

        var tokens = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => authorizer.GetTokenAsync(CancellationToken.None).AsTask()));

        Assert.Equal(1, source.Calls);
        Assert.All(tokens, t => Assert.Equal("token-1", t.Token));
    }

    [Fact]
    public async Task BlobClient_WithManagedIdentity_SendsTheBearerTokenAndAVersionThatAllowsIt()
    {
        string? authorization = null;
        string? version = null;
        using var storage = new LoopbackHttpServer(context =>
        {
            authorization = context.Request.Headers["Authorization"];
            version = context.Request.Headers["x-ms-version"];
            context.Response.StatusCode = 200;
            context.Response.ContentLength64 = 0;
            return Task.CompletedTask;
        });
        var clock = new ManualTimeProvider(Start);
        using var client = new AzureBlobClient(new Uri(storage.BaseUri, "acct/"), "acct", new BearerTokenAuthorizer(new CountingSource(clock), clock));

        var properties = await client.GetPropertiesAsync("models", "m/model.onnx");

        Assert.NotNull(properties);
        Assert.Equal("Bearer token-1", authorization);
        Assert.Equal(BlobServiceVersion.Current, version);
        Assert.Equal("managed identity", client.CredentialKind);
    }

    private static async Task WriteJsonAsync(System.Net.HttpListenerResponse response, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }

    private sealed class CountingSource(TimeProvider clock) : IAccessTokenSource
    {
        private int _calls;

        public int Calls => _calls;

        public TimeSpan Delay { get; init; }

        public async ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _calls);
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }

            return new AccessToken($"token-{n}", clock.GetUtcNow().AddHours(1));
        }
    }
}
