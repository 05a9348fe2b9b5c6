using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

[Collection(LightJwtStackCollection.Name)]
public sealed class LightOnlyJwtStackTests(LightOnlyJwtFixture fixture)
{
    [Theory]
    [InlineData("AWS::ECS::Service")]
    [InlineData("AWS::ECS::Cluster")]
    [InlineData("AWS::EC2::VPC")]
    [InlineData("AWS::EC2::NatGateway")]
    [InlineData("AWS::AutoScaling::AutoScalingGroup")]
    [InlineData("AWS::ElasticLoadBalancingV2::LoadBalancer")]
    [InlineData("AWS::ApiGatewayV2::VpcLink")]
    public void WithOnlyLightModels_NoGpuInfrastructureIsCreated(string type)
    {
        fixture.Synth.Template.ResourceCountIs(type, 0);
    }

    [Fact]
    public void JwtMode_CreatesAJwtAuthorizerWithTheIssuerAndAudiences()
    {
        var (id, authorizer) = fixture.Synth.OfType("AWS::ApiGatewayV2::Authorizer").Single();
        var jwt = authorizer.GetProperty("JwtConfiguration");

        Assert.Equal("JWT", authorizer.GetProperty("AuthorizerType").GetString());
        Assert.Equal(LightOnlyJwtFixture.Issuer, jwt.GetProperty("Issuer").GetString());
        Assert.Equal(["inference-api", "batch-tools"], jwt.GetProperty("Audience").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("$request.header.Authorization", authorizer.GetProperty("IdentitySource")[0].GetString());
        Assert.All(fixture.Synth.OfType("AWS::ApiGatewayV2::Route"), r =>
        {
            Assert.Equal("JWT", r.Properties.GetProperty("AuthorizationType").GetString());
            Assert.Equal(id, Cfn.Ref(r.Properties.GetProperty("AuthorizerId")));
        });
    }

    [Fact]
    public void CanaryOff_LeavesNoCodeDeployButKeepsTheLiveAlias()
    {
        fixture.Synth.Template.ResourceCountIs("AWS::CodeDeploy::DeploymentGroup", 0);
        fixture.Synth.Template.ResourceCountIs("AWS::Lambda::Alias", 2);
    }

    [Fact]
    public void KmsMode_EncryptsTheModelBucketWithARotatedKeyThatFunctionsMayDecrypt()
    {
        var (keyId, key) = fixture.Synth.OfType("AWS::KMS::Key").Single();
        var bucket = fixture.Synth.OfType("AWS::S3::Bucket").Single(b => b.Id.StartsWith("StorageModelBucket", StringComparison.Ordinal)).Properties;
        var sse = bucket.GetProperty("BucketEncryption").GetProperty("ServerSideEncryptionConfiguration")[0].GetProperty("ServerSideEncryptionByDefault");

        Assert.True(key.GetProperty("EnableKeyRotation").GetBoolean());
        Assert.Equal("aws:kms", sse.GetProperty("SSEAlgorithm").GetString());
        Assert.Equal(keyId, Cfn.GetAttId(sse.GetProperty("KMSMasterKeyID")));
        var decrypters = fixture.Synth.OfType("AWS::IAM::Policy")
            .Count(p => p.Properties.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray()
                .Any(s => Cfn.Items(s.GetProperty("Action")).Any(a => a.GetString() == "kms:Decrypt") && Cfn.GetAttId(s.GetProperty("Resource")) == keyId));
        // Two model functions, the batch function and the upload role.
        Assert.Equal(4, decrypters);
    }

    [Fact]
    public void StageAndPreload_ReachNamesAndEnvironment()
    {
        Assert.Equal("Serverless-dev", fixture.Synth.Stack.StackName);
        var fns = fixture.Synth.OfType("AWS::Lambda::Function").Where(f => Cfn.Environment(f.Properties).ContainsKey("MODEL_NAME")).ToList();
        Assert.Equal(2, fns.Count);
        Assert.All(fns, f => Assert.Equal(Cfn.Environment(f.Properties)["MODEL_NAME"], Cfn.Environment(f.Properties)["MODEL_PRELOAD"]));
        Assert.Contains(fixture.Synth.OfType("AWS::CloudWatch::Dashboard"), d => d.Properties.GetProperty("DashboardName").GetString() == "serverless-dev-direction");
    }

    [Fact]
    public void PerModelArchitecture_GivesThatModelX86_64AndItsOwnZipWhileTheOthersStayOnArm64()
    {
        var fns = fixture.Synth.OfType("AWS::Lambda::Function")
            .Select(f => (Env: Cfn.Environment(f.Properties), f.Properties))
            .Where(f => f.Env.ContainsKey("MODEL_NAME") || f.Env.ContainsKey("BATCH_MODE"))
            .ToDictionary(f => f.Env.GetValueOrDefault("MODEL_NAME") ?? "batch", f => f.Properties);

        Assert.Equal("x86_64", fns["recognition"].GetProperty("Architectures")[0].GetString());
        Assert.Equal("arm64", fns["direction"].GetProperty("Architectures")[0].GetString());
        Assert.Equal("arm64", fns["batch"].GetProperty("Architectures")[0].GetString());
        var key = (string model) => fns[model].GetProperty("Code").GetProperty("S3Key").GetString();
        Assert.NotEqual(key("recognition"), key("direction"));
        Assert.Equal(key("batch"), key("direction"));
    }
}
