using Serverless.Core.Errors;
using Serverless.Core.Hosting;

namespace Serverless.Core.Tests.Hosting;

public sealed class ServerlessSettingsTests
{
    [Fact]
    public void FromEnvironment_WithNothingSet_UsesTheDocumentedDefaults()
    {
        var settings = ServerlessSettings.FromEnvironment(new FakeEnvironment());

        Assert.Equal("/work/app/.cache/store", settings.ModelStore);
        Assert.Equal("/home/user/.cache/serverless/models", settings.CacheDirectory);
        Assert.Equal((long)((2048L << 20) * 0.7), settings.MemoryBudgetBytes);
        Assert.Empty(settings.Preload);
        Assert.False(settings.PreloadAll);
        Assert.Null(settings.ModelName);
        Assert.Null(settings.ModelsDirectory);
        Assert.False(settings.OnLambda);
        Assert.True(settings.GraphCache);
        Assert.Equal("/home/user/.cache/serverless/models/optimized", settings.OptimizedGraphDirectory);
    }

    [Theory]
    [InlineData("off", false)]
    [InlineData("0", false)]
    [InlineData("FALSE", false)]
    [InlineData("on", true)]
    [InlineData(" yes ", true)]
    public void FromEnvironment_ModelGraphCache_SwitchesTheCache(string value, bool expected)
    {
        var settings = ServerlessSettings.FromEnvironment(new FakeEnvironment().With("MODEL_GRAPH_CACHE", value));

        Assert.Equal(expected, settings.GraphCache);
    }

    [Fact]
    public void FromEnvironment_OnLambda_CachesUnderTmp()
    {
        var settings = ServerlessSettings.FromEnvironment(new FakeEnvironment().With("AWS_LAMBDA_FUNCTION_NAME", "text-direction"));

        Assert.True(settings.OnLambda);
        Assert.Equal("/tmp/models", settings.CacheDirectory);
    }

    [Fact]
    public void FromEnvironment_WithXdgCacheHome_CachesThere()
    {
        var settings = ServerlessSettings.FromEnvironment(new FakeEnvironment().With("XDG_CACHE_HOME", "/var/cache/me"));

        Assert.Equal("/var/cache/me/serverless/models", settings.CacheDirectory);
    }

    [Fact]
    public void FromEnvironment_WithEveryVariableSet_ReadsThemAll()
    {
        var env = new FakeEnvironment()
            .With("MODEL_STORE", "s3://bucket/models")
            .With("MODEL_CACHE_DIR", "cache")
            .With("MODEL_MEMORY_BUDGET_MB", " 512 ")
            .With("MODEL_PRELOAD", "text-direction, voice-activity,text-direction")
            .With("MODEL_NAME", "text-direction")
            .With("SERVERLESS_MODELS_DIR", "/tmp");

        var settings = ServerlessSettings.FromEnvironment(env);

        Assert.Equal("s3://bucket/models", settings.ModelStore);
        Assert.Equal("/work/app/cache", settings.CacheDirectory);
        Assert.Equal(512L << 20, settings.MemoryBudgetBytes);
        Assert.Equal(["text-direction", "voice-activity"], settings.Preload);
        Assert.True(settings.ShouldPreload("voice-activity"));
        Assert.False(settings.ShouldPreload("text-detection"));
        Assert.Equal("text-direction", settings.ModelName);
        Assert.Equal("/tmp", settings.ModelsDirectory);
    }

    [Fact]
    public void FromEnvironment_WithPreloadStar_PreloadsEverything()
    {
        var settings = ServerlessSettings.FromEnvironment(new FakeEnvironment().With("MODEL_PRELOAD", "*"));

        Assert.True(settings.PreloadAll);
        Assert.True(settings.ShouldPreload("anything"));
    }

    [Theory]
    [InlineData("MODEL_MEMORY_BUDGET_MB", "lots")]
    [InlineData("MODEL_MEMORY_BUDGET_MB", "0")]
    [InlineData("MODEL_MEMORY_BUDGET_MB", "-5")]
    [InlineData("MODEL_MEMORY_BUDGET_MB", "1.5")]
    [InlineData("MODEL_PRELOAD", "text-direction,../etc")]
    [InlineData("MODEL_PRELOAD", "text direction")]
    [InlineData("MODEL_NAME", "../x")]
    [InlineData("MODEL_NAME", "_upper")]
    [InlineData("SERVERLESS_MODELS_DIR", "/does/not/exist")]
    [InlineData("MODEL_GRAPH_CACHE", "maybe")]
    public void FromEnvironment_WithAnInvalidValue_ThrowsNamingTheVariableAndValue(string variable, string value)
    {
        var error = Assert.Throws<InferenceException>(() => ServerlessSettings.FromEnvironment(new FakeEnvironment().With(variable, value)));

        Assert.Equal(ErrorCode.InvalidInput, error.Code);
        Assert.Contains($"{variable}='{value}'", error.Message);
        Assert.Contains("expected", error.Message);
    }

    [Fact]
    public void FromEnvironment_WithAModelsFolderInTheCurrentDirectory_UsesIt()
    {
        var settings = ServerlessSettings.FromEnvironment(new FakeEnvironment { CurrentDirectory = Serverless.Tests.Shared.RepoPaths.Root });

        Assert.Equal(Serverless.Tests.Shared.RepoPaths.CheckedInManifests, settings.ModelsDirectory);
    }
}
