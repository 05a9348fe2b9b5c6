using System.Text.Json;
using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

[Collection(MixedStackCollection.Name)]
public sealed class StorageTests(MixedModelsFixture fixture)
{
    private JsonElement Bucket(string idPrefix) =>
        fixture.Synth.Resources.EnumerateObject().Single(r => r.Name.StartsWith(idPrefix, StringComparison.Ordinal) && r.Value.GetProperty("Type").GetString() == "AWS::S3::Bucket").Value;

    [Theory]
    [InlineData("StorageModelBucket")]
    [InlineData("StorageBatchBucket")]
    public void Buckets_AreEncryptedPrivateAndRetained(string idPrefix)
    {
        var bucket = Bucket(idPrefix);
        var props = bucket.GetProperty("Properties");

        var sse = props.GetProperty("BucketEncryption").GetProperty("ServerSideEncryptionConfiguration")[0].GetProperty("ServerSideEncryptionByDefault");
        Assert.Equal("AES256", sse.GetProperty("SSEAlgorithm").GetString());
        var block = props.GetProperty("PublicAccessBlockConfiguration");
        foreach (var setting in new[] { "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets" })
        {
            Assert.True(block.GetProperty(setting).GetBoolean(), setting);
        }

        Assert.Equal("Retain", bucket.GetProperty("DeletionPolicy").GetString());
        Assert.Equal("Retain", bucket.GetProperty("UpdateReplacePolicy").GetString());
    }

    [Fact]
    public void ModelBucket_IsVersioned()
    {
        Assert.Equal("Enabled", Bucket("StorageModelBucket").GetProperty("Properties").GetProperty("VersioningConfiguration").GetProperty("Status").GetString());
    }

    [Theory]
    [InlineData("StorageModelBucket")]
    [InlineData("StorageBatchBucket")]
    public void BucketPolicies_DenyEveryRequestWithoutTls(string idPrefix)
    {
        var (_, policy) = fixture.Synth.OfType("AWS::S3::BucketPolicy").Single(p => Cfn.Ref(p.Properties.GetProperty("Bucket"))!.StartsWith(idPrefix, StringComparison.Ordinal));
        var deny = policy.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().Single(s => s.GetProperty("Effect").GetString() == "Deny");

        Assert.Equal("false", deny.GetProperty("Condition").GetProperty("Bool").GetProperty("aws:SecureTransport").GetString());
        Assert.Equal("*", deny.GetProperty("Principal").GetProperty("AWS").GetString());
    }

    [Fact]
    public void BatchBucket_ExpiresIncomingAndAgesResults()
    {
        var rules = Bucket("StorageBatchBucket").GetProperty("Properties").GetProperty("LifecycleConfiguration").GetProperty("Rules")
            .EnumerateArray().ToDictionary(r => r.GetProperty("Prefix").GetString()!);

        Assert.Equal(7, rules["incoming/"].GetProperty("ExpirationInDays").GetInt32());
        Assert.Equal(365, rules["results/"].GetProperty("ExpirationInDays").GetInt32());
        var transition = rules["results/"].GetProperty("Transitions")[0];
        Assert.Equal("STANDARD_IA", transition.GetProperty("StorageClass").GetString());
        Assert.Equal(30, transition.GetProperty("TransitionInDays").GetInt32());
    }

    [Fact]
    public void ModelStore_IsUploadedUnderModelsWithoutPruning()
    {
        var (_, upload) = fixture.Synth.OfType("Custom::CDKBucketDeployment").Single();

        Assert.Equal("models/", upload.GetProperty("DestinationBucketKeyPrefix").GetString());
        Assert.False(upload.GetProperty("Prune").GetBoolean());
        Assert.Equal(2, upload.GetProperty("SourceObjectKeys").GetArrayLength());
        Assert.StartsWith("StorageModelBucket", Cfn.Ref(upload.GetProperty("DestinationBucketName")));
    }
}
