using Serverless.Infra.Configuration;
using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Configuration;

public sealed class InfraSettingsTests : IDisposable
{
    private readonly TestWorkspace _workspace = new TestWorkspace().AddModel("m", 256);

    public void Dispose() => _workspace.Dispose();

    private InfraSettings Load(params (string Key, object Value)[] overrides)
    {
        var context = _workspace.Context();
        foreach (var (key, value) in overrides)
        {
            context[key] = value;
        }

        return InfraSettings.Load(key => context.GetValueOrDefault(key), _workspace.Root);
    }

    private InfraConfigException Fails(params (string Key, object Value)[] overrides) =>
        Assert.Throws<InfraConfigException>(() => Load(overrides));

    [Fact]
    public void Load_WithNothingSet_UsesSafeDefaults()
    {
        var settings = Load();

        Assert.Equal("prod", settings.Stage);
        Assert.Equal(ApiAuthMode.Iam, settings.ApiAuth);
        Assert.Equal("g5.xlarge", settings.GpuInstanceType);
        Assert.Equal(0, settings.GpuMinCapacity);
        Assert.Equal(2, settings.GpuMaxCapacity);
        Assert.True(settings.Canary);
        Assert.False(settings.Preload);
        Assert.False(settings.ForceGpuService);
        Assert.False(settings.ModelBucketKms);
        Assert.Null(settings.ExistingModelBucketName);
        Assert.Equal(LambdaArchitecture.Arm64, settings.LambdaArchitecture);
        Assert.Equal(LambdaArchitecture.Arm64, settings.ArchitectureFor("m"));
    }

    [Fact]
    public void Load_WithPerModelArchitectures_GivesEachNamedModelItsOwnAndTheRestTheDefault()
    {
        var settings = Load(("lambdaArchitecture", "x86_64"), ("lambdaArchitectures", "m=arm64, other = x86_64"));

        Assert.Equal(LambdaArchitecture.Arm64, settings.ArchitectureFor("m"));
        Assert.Equal(LambdaArchitecture.X86_64, settings.ArchitectureFor("other"));
        Assert.Equal(LambdaArchitecture.X86_64, settings.ArchitectureFor("unnamed"));
        Assert.Equal(Path.Combine(_workspace.LambdaPackages, "bootstrap-arm64.zip"), settings.PackageFor(LambdaArchitecture.Arm64));
    }

    [Theory]
    [InlineData("lambdaArchitecture", "amd64", "expected arm64 (Graviton, the default) or x86_64")]
    [InlineData("lambdaArchitectures", "m=sparc", "has 'm=sparc': expected <model>=arm64 or <model>=x86_64")]
    [InlineData("lambdaArchitectures", "x86_64", "has 'x86_64': expected <model>=arm64 or <model>=x86_64")]
    public void Load_WithAnUnknownArchitecture_NamesTheKeyAndWhatIsAllowed(string key, string value, string expected)
    {
        var error = Fails((key, value));

        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Load_WhenTheZipOfAnArchitectureInUseIsMissing_NamesItAndSaysToRunBuildShPackage()
    {
        File.Delete(Path.Combine(_workspace.LambdaPackages, "bootstrap-x86_64.zip"));

        Assert.Equal(LambdaArchitecture.Arm64, Load().LambdaArchitecture); // not in use: no need for it
        var error = Fails(("lambdaArchitectures", "m=x86_64"));

        Assert.Contains("bootstrap-x86_64.zip", error.Message);
        Assert.Contains("./build.sh package", error.Message);
    }

    [Fact]
    public void Load_WithRelativePaths_ResolvesThemAgainstTheBaseDirectory()
    {
        var settings = InfraSettings.Load(key => key switch
        {
            "models" => "models",
            "modelStore" => "store",
            "lambdaPackages" => "lambda",
            _ => null,
        }, _workspace.Root);

        Assert.Equal(_workspace.ModelsDirectory, settings.ModelsDirectory);
        Assert.Equal(_workspace.LambdaPackages, settings.LambdaPackagesDirectory);
    }

    [Fact]
    public void Load_AcceptsCdkJsonTypesAndCommandLineStrings()
    {
        var settings = Load(("gpuMaxCapacity", 4.0), ("gpuMinCapacity", "1"), ("canary", false), ("preload", "TRUE"));

        Assert.Equal(4, settings.GpuMaxCapacity);
        Assert.Equal(1, settings.GpuMinCapacity);
        Assert.False(settings.Canary);
        Assert.True(settings.Preload);
    }

    [Fact]
    public void Load_WithMissingLambdaPackage_SaysToRunBuildShPackage()
    {
        var error = Fails(("lambdaPackages", Path.Combine(_workspace.Root, "nope")));

        Assert.Contains("lambdaPackages", error.Message);
        Assert.Contains(Path.Combine("nope", "bootstrap-arm64.zip"), error.Message);
        Assert.Contains("./build.sh package", error.Message);
    }

    [Fact]
    public void Load_WithMissingModelStore_SaysToRunSetupOrNameABucket()
    {
        var error = Fails(("modelStore", Path.Combine(_workspace.Root, "missing-store")));

        Assert.Contains("./build.sh setup", error.Message);
        Assert.Contains("modelBucketName", error.Message);
    }

    [Fact]
    public void Load_WithExistingBucket_NeedsNoLocalStore()
    {
        var settings = Load(("modelStore", Path.Combine(_workspace.Root, "missing-store")), ("modelBucketName", "my-models.example"));

        Assert.Equal("my-models.example", settings.ExistingModelBucketName);
    }

    [Theory]
    [InlineData("apiAuth", "cognito", "expected iam (default), jwt")]
    [InlineData("stage", "Prod_1", "lowercase letters")]
    [InlineData("gpuInstanceType", "m5.large", "GPU instance type")]
    [InlineData("gpuInstanceType", "g5", "GPU instance type")]
    [InlineData("gpuMaxCapacity", "0", "1 <= max")]
    [InlineData("gpuMinCapacity", "-1", "0 <= min")]
    [InlineData("gpuMinCapacity", "1.5", "whole number")]
    [InlineData("canary", "maybe", "expected true or false")]
    [InlineData("modelBucketName", "Bad_Bucket", "not a valid S3 bucket name")]
    [InlineData("modelBucketEncryption", "aes", "expected s3")]
    [InlineData("incomingExpirationDays", "0", "between 1 and 3650")]
    public void Load_WithAnInvalidValue_NamesTheKeyAndWhatIsAllowed(string key, string value, string hint)
    {
        var error = Fails((key, value));

        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains(value, error.Message);
        Assert.Contains(hint, error.Message);
    }

    [Fact]
    public void Load_WithMinAboveMax_ExplainsTheRange()
    {
        var error = Fails(("gpuMinCapacity", "3"), ("gpuMaxCapacity", "2"));

        Assert.Contains("gpuMinCapacity'=3", error.Message);
        Assert.Contains("gpuMaxCapacity'=2", error.Message);
    }

    [Fact]
    public void Load_JwtWithoutIssuer_AsksForTheHttpsIssuer()
    {
        var error = Fails(("apiAuth", "jwt"), ("jwtAudience", "api"));

        Assert.Contains("jwtIssuer", error.Message);
        Assert.Contains("https", error.Message);
    }

    [Fact]
    public void Load_JwtWithPlainHttpIssuer_IsRejected()
    {
        Assert.Contains("jwtIssuer", Fails(("apiAuth", "jwt"), ("jwtIssuer", "http://login.example.com/"), ("jwtAudience", "api")).Message);
    }

    [Fact]
    public void Load_JwtWithoutAudience_AsksForOne()
    {
        var error = Fails(("apiAuth", "jwt"), ("jwtIssuer", "https://login.example.com/"));

        Assert.Contains("jwtAudience", error.Message);
    }

    [Fact]
    public void Load_NoneAuth_IsAllowedOnlyWhenSpelledOut()
    {
        Assert.Equal(ApiAuthMode.None, Load(("apiAuth", "none")).ApiAuth);
        Assert.Equal(ApiAuthMode.Iam, Load(("apiAuth", "")).ApiAuth);
    }
}
