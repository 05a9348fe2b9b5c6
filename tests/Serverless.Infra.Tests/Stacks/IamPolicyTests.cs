using System.Text.Json;
using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

/// <summary>
/// Walks every IAM statement in the template. The one exemption is CDK's own S3 bucket-notifications
/// custom resource (BucketNotificationsHandler), whose s3:PutBucketNotification must name Resource "*";
/// its action is still exact. Every other role, including the model upload's, is held to the same rules.
/// </summary>
[Collection(MixedStackCollection.Name)]
public sealed class IamPolicyTests(MixedModelsFixture fixture)
{
    private IEnumerable<(string PolicyId, JsonElement Statement)> Statements()
    {
        foreach (var (id, policy) in fixture.Synth.OfType("AWS::IAM::Policy"))
        {
            foreach (var statement in policy.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            {
                yield return (id, statement);
            }
        }

        foreach (var (id, role) in fixture.Synth.OfType("AWS::IAM::Role"))
        {
            if (role.TryGetProperty("Policies", out var inline))
            {
                foreach (var statement in inline.EnumerateArray().SelectMany(p => p.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray()))
                {
                    yield return (id, statement);
                }
            }
        }
    }

    private static IEnumerable<string> Actions(JsonElement statement) => Cfn.Items(statement.GetProperty("Action")).Select(a => a.GetString()!);

    [Fact]
    public void NoStatement_GrantsAWildcardAction()
    {
        var statements = Statements().ToList();

        Assert.NotEmpty(statements);
        foreach (var (policy, statement) in statements)
        {
            foreach (var action in Actions(statement))
            {
                Assert.False(action.Contains('*', StringComparison.Ordinal), $"{policy} grants wildcard action '{action}'");
            }
        }
    }

    [Fact]
    public void S3Statements_AreScopedToABucketPrefixOrAStagedAsset()
    {
        foreach (var (policy, statement) in Statements().Where(s => Actions(s.Statement).Any(a => a.StartsWith("s3:", StringComparison.Ordinal))))
        {
            if (policy.StartsWith("BucketNotificationsHandler", StringComparison.Ordinal))
            {
                Assert.Equal(["s3:PutBucketNotification"], Actions(statement));
                continue;
            }

            foreach (var resource in Cfn.Items(statement.GetProperty("Resource")))
            {
                Assert.False(resource.ValueKind == JsonValueKind.String && resource.GetString() == "*", $"{policy}: S3 on Resource *");
                if (Actions(statement).Contains("s3:ListBucket"))
                {
                    var prefix = statement.GetProperty("Condition").GetProperty("StringLike").GetProperty("s3:prefix");
                    Assert.All(Cfn.Items(prefix), p => Assert.Matches("^(models/|incoming/|results/)", p.GetString()));
                }
                else
                {
                    var tail = Cfn.LiteralTail(resource);
                    Assert.True(tail is not "/*" and not "", $"{policy}: {string.Join(",", Actions(statement))} on a whole bucket");
                    Assert.Matches(@"^/(models/([a-z0-9._-]+/)?\*|incoming/\*|incoming/\*/\.continue/\*|results/\*|[0-9a-f]{64}\.zip)$", tail);
                }
            }
        }
    }

    [Theory]
    [InlineData(MixedModelsFixture.Small)]
    [InlineData(MixedModelsFixture.Large)]
    public void ModelFunction_ReadsOnlyItsOwnModelPrefix(string model)
    {
        var fn = fixture.Synth.OfType("AWS::Lambda::Function").Single(f => Cfn.Environment(f.Properties).GetValueOrDefault("MODEL_NAME") == model).Properties;
        var roleId = Cfn.GetAttId(fn.GetProperty("Role"));
        var (_, policy) = fixture.Synth.OfType("AWS::IAM::Policy").Single(p => p.Properties.GetProperty("Roles").EnumerateArray().Any(r => Cfn.Ref(r) == roleId));
        var s3 = policy.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().Where(s => Actions(s).Any(a => a.StartsWith("s3:", StringComparison.Ordinal))).ToList();

        var reads = s3.Where(s => Actions(s).Contains("s3:GetObject")).SelectMany(s => Cfn.Items(s.GetProperty("Resource"))).Select(Cfn.LiteralTail);
        Assert.Equal([$"/models/{model}/*"], reads);
        var list = s3.Single(s => Actions(s).Contains("s3:ListBucket"));
        Assert.Equal($"models/{model}/*", Cfn.Items(list.GetProperty("Condition").GetProperty("StringLike").GetProperty("s3:prefix")).Single().GetString());
        Assert.DoesNotContain(s3, s => Actions(s).Contains("s3:PutObject"));
    }

    [Fact]
    public void BatchFunction_ReadsIncomingWritesResultsAndReadsOnlyLightModels()
    {
        var fn = fixture.Synth.OfType("AWS::Lambda::Function").Single(f => Cfn.Environment(f.Properties).GetValueOrDefault("BATCH_MODE") == "1").Properties;
        var roleId = Cfn.GetAttId(fn.GetProperty("Role"));
        var statements = fixture.Synth.OfType("AWS::IAM::Policy").Where(p => p.Properties.GetProperty("Roles").EnumerateArray().Any(r => Cfn.Ref(r) == roleId))
            .SelectMany(p => p.Properties.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray()).ToList();

        var reads = statements.Where(s => Actions(s).Contains("s3:GetObject")).SelectMany(s => Cfn.Items(s.GetProperty("Resource"))).Select(Cfn.LiteralTail).Order().ToList();
        var writes = statements.Where(s => Actions(s).Contains("s3:PutObject")).SelectMany(s => Cfn.Items(s.GetProperty("Resource"))).Select(Cfn.LiteralTail).ToList();
        Assert.All(statements.Where(s => Actions(s).Contains("s3:PutObject")), s => Assert.Equal(["s3:PutObject", "s3:AbortMultipartUpload"], Actions(s)));

        Assert.Equal(["/incoming/*", $"/models/{MixedModelsFixture.Small}/*", $"/models/{MixedModelsFixture.Large}/*", "/results/*"], reads);
        // Results, and the continuation markers beside unfinished inputs; never inputs themselves.
        Assert.Equal(["/incoming/*/.continue/*", "/results/*"], writes.Order());
        Assert.DoesNotContain(statements, s => Actions(s).Any(a => a.StartsWith("s3:Delete", StringComparison.Ordinal)));
    }
}
