using Serverless.Core.Errors;
using Serverless.Core.Storage;

namespace Serverless.Core.Tests.Storage;

public sealed class ObjectStoreResolverTests
{
    [Fact]
    public void Resolve_FileUriAndPlainPaths_GiveALocalStore()
    {
        var resolver = new ObjectStoreResolver("/srv");

        Assert.Equal("/data/models", ((LocalObjectStore)resolver.Resolve("file:///data/models")).RootPath);
        Assert.Equal("/srv/store", ((LocalObjectStore)resolver.Resolve("store")).RootPath);
        Assert.Equal("/abs", ((LocalObjectStore)resolver.Resolve("/abs")).RootPath);
    }

    [Fact]
    public void Resolve_ARegisteredScheme_UsesItsFactoryWithTheParsedUri()
    {
        Uri? seen = null;
        var store = new LocalObjectStore("/x");
        var resolver = new ObjectStoreResolver().Register("s3", uri =>
        {
            seen = uri;
            return store;
        });

        Assert.Same(store, resolver.Resolve("S3://bucket/prefix"));
        Assert.Equal("bucket", seen!.Host);
        Assert.True(resolver.IsRegistered("s3"));
    }

    [Fact]
    public void Resolve_AnUnregisteredScheme_ThrowsListingTheSupportedSchemes()
    {
        var resolver = new ObjectStoreResolver().Register("s3", _ => new LocalObjectStore("/x"));

        var error = Assert.Throws<InferenceException>(() => resolver.Resolve("gs://bucket/models"));

        Assert.Equal(ErrorCode.InvalidInput, error.Code);
        Assert.Contains("'gs'", error.Message);
        Assert.Contains("file:///absolute/path", error.Message);
        Assert.Contains("s3://bucket/prefix", error.Message);
    }

    [Fact]
    public void Resolve_AnEmptyUri_ThrowsSayingToSetModelStore() =>
        Assert.Contains("MODEL_STORE", Assert.Throws<InferenceException>(() => new ObjectStoreResolver().Resolve(" ")).Message);

    [Fact]
    public void Register_TheFileScheme_IsRefused() =>
        Assert.Throws<ArgumentException>(() => new ObjectStoreResolver().Register("file", _ => new LocalObjectStore("/x")));
}
