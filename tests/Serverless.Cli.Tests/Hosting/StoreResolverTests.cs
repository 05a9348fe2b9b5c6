using Serverless.Cli.Hosting;
using Serverless.Core.Errors;
using Serverless.Core.Storage;
using Serverless.Storage.AzureBlob;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>The CLI's store resolver registers the cloud schemes lazily; it must resolve exactly as the eager registration does.</summary>
public sealed class StoreResolverTests
{
    [Fact]
    public void Create_KnowsTheSameSchemesAsTheCloudStoresRegister() =>
        Assert.Equal(StoreResolver.CreateCloud().Schemes, StoreResolver.Create().Schemes);

    [Theory]
    [InlineData("s3://models-bucket/some/prefix")]
    [InlineData("s3://")]
    [InlineData("azblob://container/prefix")]
    [InlineData("https://account.blob.core.windows.net/container/prefix")]
    public void Resolve_CloudUri_EndsExactlyAsTheEagerRegistration(string uri)
    {
        // Whether this machine's environment lets the client be built (region, credentials) or not, the lazy
        // registration must give the same store or the same error as registering the cloud stores up front.
        var lazy = Outcome(() => StoreResolver.Create().Resolve(uri));
        var eager = Outcome(() => StoreResolver.CreateCloud().Resolve(uri));

        Assert.Equal(eager, lazy);
    }

    [Fact]
    public void Resolve_AzureBlobWithSasToken_GivesABlobStoreWithoutAnyEnvironment()
    {
        var store = StoreResolver.Create().Resolve("https://account.blob.core.windows.net/container/prefix?sv=2024-11-04&sp=rl&sig=c2lnbmF0dXJl");

        Assert.IsType<AzureBlobObjectStore>(store);
    }

    [Fact]
    public void Resolve_LocalPath_NeedsNoCloudStore() =>
        Assert.IsType<LocalObjectStore>(StoreResolver.Create().Resolve(Path.GetTempPath()));

    [Fact]
    public void Resolve_UnknownScheme_FailsListingTheSupportedOnes()
    {
        var error = Assert.Throws<InferenceException>(() => StoreResolver.Create().Resolve("gs://bucket/prefix"));

        Assert.Equal(ErrorCode.InvalidInput, error.Code);
        Assert.Contains("s3://bucket/prefix", error.Message);
        Assert.Contains("azblob://", error.Message);
    }

    private static string Outcome(Func<IObjectStore> resolve)
    {
        try
        {
            var store = resolve();
            return $"{store.GetType().Name} {store.Root}";
        }
#pragma warning disable CA1031 // The outcome being compared may be any exception.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }
}
