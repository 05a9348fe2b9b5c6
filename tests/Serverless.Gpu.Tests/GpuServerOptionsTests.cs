using Serverless.Core.Errors;
using Serverless.Core.Hosting;

namespace Serverless.Gpu.Tests;

public sealed class GpuServerOptionsTests
{
    [Fact]
    public void FromEnvironment_WithNothingSet_ListensOnPort8080AndBatchesWithTheDefaults()
    {
        var options = GpuServerOptions.FromEnvironment(new Env(), []);

        Assert.Equal("http://0.0.0.0:8080", options.Urls);
        Assert.Empty(options.ModelNames);
        Assert.Equal(TimeSpan.FromMilliseconds(2), options.Batching.MaxDelay);
        Assert.Null(options.Batching.MaxBatchSize);
        Assert.Equal(256, options.Batching.MaxQueuedRequests);
        Assert.True(options.PreferCuda);
        Assert.True(options.RequireCuda);
        Assert.Null(options.OtlpEndpoint);
    }

    [Theory]
    [InlineData(null, null, true, true)]
    [InlineData("false", null, true, false)]
    [InlineData("true", null, true, true)]
    [InlineData(null, "false", false, false)]
    [InlineData("false", "false", false, false)]
    public void FromEnvironment_RequiresCudaUnlessTheCpuFallbackOrCpuIsAskedFor(string? required, string? preferCuda, bool expectPrefer, bool expectRequire)
    {
        var env = new Env();
        if (required is not null)
        {
            env["GPU_REQUIRED"] = required;
        }

        if (preferCuda is not null)
        {
            env["GPU_PREFER_CUDA"] = preferCuda;
        }

        var options = GpuServerOptions.FromEnvironment(env, []);

        Assert.Equal((expectPrefer, expectRequire), (options.PreferCuda, options.RequireCuda));
    }

    [Fact]
    public void FromEnvironment_ReadsTheCdkStacksVariables()
    {
        var env = new Env { ["MODEL_NAMES"] = "text-detection, text-recognition,text-detection", ["PORT"] = "9000", ["GPU_BATCH_DELAY_MS"] = "5", ["GPU_MAX_BATCH_SIZE"] = "8", ["GPU_MAX_QUEUE"] = "10", ["GPU_PREFER_CUDA"] = "false", ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4317" };

        var options = GpuServerOptions.FromEnvironment(env, []);

        Assert.Equal("http://0.0.0.0:9000", options.Urls);
        Assert.Equal(["text-detection", "text-recognition"], options.ModelNames);
        Assert.Equal(TimeSpan.FromMilliseconds(5), options.Batching.MaxDelay);
        Assert.Equal(8, options.Batching.MaxBatchSize);
        Assert.Equal(10, options.Batching.MaxQueuedRequests);
        Assert.False(options.PreferCuda);
        Assert.Equal("http://collector:4317", options.OtlpEndpoint);
    }

    [Theory]
    [InlineData(new[] { "--urls", "http://127.0.0.1:1234" }, "http://127.0.0.1:1234")]
    [InlineData(new[] { "--urls=http://127.0.0.1:5" }, "http://127.0.0.1:5")]
    [InlineData(new string[0], "http://+:7000")]
    public void ResolveUrls_PrefersTheCommandLineThenAspNetCoreUrls(string[] args, string expected)
    {
        var env = new Env { ["ASPNETCORE_URLS"] = "http://+:7000", ["PORT"] = "9000" };

        Assert.Equal(expected, GpuServerOptions.ResolveUrls(env, args));
    }

    [Theory]
    [InlineData("GPU_MAX_QUEUE", "0")]
    [InlineData("GPU_BATCH_DELAY_MS", "-1")]
    [InlineData("PORT", "http")]
    [InlineData("GPU_PREFER_CUDA", "maybe")]
    [InlineData("GPU_REQUIRED", "yes")]
    [InlineData("MODEL_NAMES", "Text Detection")]
    public void FromEnvironment_WithInvalidValue_NamesTheVariableAndWhatIsAccepted(string variable, string value)
    {
        var env = new Env { [variable] = value };

        var error = Assert.Throws<InferenceException>(() => GpuServerOptions.FromEnvironment(env, []));

        Assert.Equal(ErrorCode.InvalidInput, error.Code);
        Assert.Contains($"{variable}='{value}'", error.Message);
        Assert.Contains("expected", error.Message);
    }

    private sealed class Env : Dictionary<string, string>, IEnvironment
    {
        public string? GetVariable(string name) => TryGetValue(name, out var value) ? value : null;

        public string CurrentDirectory => "/srv";

        public string HomeDirectory => "/home/app";

        public long TotalAvailableMemoryBytes => 8L << 30;
    }
}
