using System.Text.Json;
using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

[Collection(MixedStackCollection.Name)]
public sealed class ModelFunctionTests(MixedModelsFixture fixture)
{
    private (string Id, JsonElement Properties) FunctionFor(string model) =>
        fixture.Synth.OfType("AWS::Lambda::Function").Single(f => Cfn.Environment(f.Properties).GetValueOrDefault("MODEL_NAME") == model);

    [Theory]
    [InlineData(MixedModelsFixture.Small, 256, 512, "192")]
    [InlineData(MixedModelsFixture.Large, 3008, 3328, "2256")]
    public void LightModelFunction_IsSizedFromItsManifest(string model, int memory, int ephemeral, string budget)
    {
        var (_, fn) = FunctionFor(model);

        Assert.Equal("provided.al2023", fn.GetProperty("Runtime").GetString());
        Assert.Equal("bootstrap", fn.GetProperty("Handler").GetString());
        Assert.Equal("arm64", fn.GetProperty("Architectures")[0].GetString()); // the default: Graviton
        Assert.Equal(memory, fn.GetProperty("MemorySize").GetInt32());
        Assert.Equal(ephemeral, fn.GetProperty("EphemeralStorage").GetProperty("Size").GetInt32());
        Assert.Equal(29, fn.GetProperty("Timeout").GetInt32());
        Assert.Equal("Active", fn.GetProperty("TracingConfig").GetProperty("Mode").GetString());
        Assert.Equal(budget, Cfn.Environment(fn)["MODEL_MEMORY_BUDGET_MB"]);
    }

    [Fact]
    public void LightModelFunction_EnvironmentPointsAtItsModelInTheModelBucket()
    {
        var (_, fn) = FunctionFor(MixedModelsFixture.Small);
        var env = fn.GetProperty("Environment").GetProperty("Variables");

        // MODEL_STORE = s3://<model bucket>/models, the prefix the deployment uploads to.
        var store = env.GetProperty("MODEL_STORE").GetProperty("Fn::Join")[1];
        Assert.Equal("s3://", store[0].GetString());
        Assert.Equal("StorageModelBucket", Cfn.Ref(store[1])![..18]);
        Assert.Equal("/models", store[2].GetString());
        Assert.Equal("/tmp/models", env.GetProperty("MODEL_CACHE_DIR").GetString());
        Assert.Equal(string.Empty, env.GetProperty("MODEL_PRELOAD").GetString());
    }

    [Fact]
    public void HeavyModel_GetsNoFunction()
    {
        Assert.DoesNotContain(fixture.Synth.OfType("AWS::Lambda::Function"),
            f => Cfn.Environment(f.Properties).GetValueOrDefault("MODEL_NAME") == MixedModelsFixture.Heavy);
    }

    [Theory]
    [InlineData(MixedModelsFixture.Small)]
    [InlineData(MixedModelsFixture.Large)]
    public void LightModelFunction_HasLiveAliasOnAPublishedVersion(string model)
    {
        var (fnId, _) = FunctionFor(model);
        var (_, alias) = fixture.Synth.OfType("AWS::Lambda::Alias").Single(a => Cfn.Ref(a.Properties.GetProperty("FunctionName")) == fnId);

        Assert.Equal("live", alias.GetProperty("Name").GetString());
        var versionId = Cfn.GetAttId(alias.GetProperty("FunctionVersion"));
        Assert.NotNull(versionId);
        var version = fixture.Synth.Resource(versionId);
        Assert.Equal("AWS::Lambda::Version", version.GetProperty("Type").GetString());
        Assert.Equal(fnId, Cfn.Ref(version.GetProperty("Properties").GetProperty("FunctionName")));
    }

    [Fact]
    public void LightModelFunction_LogsToAGroupKeptOneMonth()
    {
        var (_, fn) = FunctionFor(MixedModelsFixture.Small);
        var groupId = Cfn.Ref(fn.GetProperty("LoggingConfig").GetProperty("LogGroup"));

        var group = fixture.Synth.Resource(groupId!);
        Assert.Equal(30, group.GetProperty("Properties").GetProperty("RetentionInDays").GetInt32());
    }

    [Fact]
    public void Canary_ShiftsTenPercentForFiveMinutesAndRollsBackOnTheModelAlarms()
    {
        var groups = fixture.Synth.OfType("AWS::CodeDeploy::DeploymentGroup").ToList();

        Assert.Equal(2, groups.Count);
        foreach (var (_, group) in groups)
        {
            Assert.Equal("CodeDeployDefault.LambdaCanary10Percent5Minutes", group.GetProperty("DeploymentConfigName").GetString());
            Assert.True(group.GetProperty("AlarmConfiguration").GetProperty("Enabled").GetBoolean());
            Assert.Equal(3, group.GetProperty("AlarmConfiguration").GetProperty("Alarms").GetArrayLength());
            var events = group.GetProperty("AutoRollbackConfiguration").GetProperty("Events").EnumerateArray().Select(e => e.GetString()).ToList();
            Assert.Contains("DEPLOYMENT_STOP_ON_ALARM", events);
            Assert.Contains("DEPLOYMENT_FAILURE", events);
        }
    }

    [Fact]
    public void EveryModel_HasOneDashboardAndErrorLatencyThrottleAlarms()
    {
        var dashboards = fixture.Synth.OfType("AWS::CloudWatch::Dashboard").Select(d => d.Properties.GetProperty("DashboardName").GetString()).ToList();
        var alarms = fixture.Synth.OfType("AWS::CloudWatch::Alarm").Select(a => (a.Properties.TryGetProperty("AlarmName", out var name) ? name.GetString() : null)).ToList();

        foreach (var model in new[] { MixedModelsFixture.Small, MixedModelsFixture.Large, MixedModelsFixture.Heavy })
        {
            Assert.Contains($"serverless-prod-{model}", dashboards);
            Assert.Contains($"serverless-prod-{model}-errors", alarms);
            Assert.Contains($"serverless-prod-{model}-p99-latency", alarms);
            Assert.Contains($"serverless-prod-{model}-throttles", alarms);
        }
    }

    [Fact]
    public void Stack_OutputsApiUrlAndBothBucketNames()
    {
        var outputs = fixture.Synth.Json.RootElement.GetProperty("Outputs");

        Assert.Equal("ApiEndpoint", outputs.GetProperty("ApiUrl").GetProperty("Value").GetProperty("Fn::GetAtt")[1].GetString());
        Assert.StartsWith("StorageModelBucket", Cfn.Ref(outputs.GetProperty("ModelBucketName").GetProperty("Value")));
        Assert.StartsWith("StorageBatchBucket", Cfn.Ref(outputs.GetProperty("BatchBucketName").GetProperty("Value")));
    }
}
