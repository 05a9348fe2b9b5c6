using Serverless.Infra.Tests.Fixtures;
using Xunit.Abstractions;

namespace Serverless.Infra.Tests.Stacks;

[Collection(MixedStackCollection.Name)]
public sealed class ResourceCountTests(MixedModelsFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void MixedStack_HasOneFunctionPerLightModelPlusBatch_AndPrintsCountsByType()
    {
        var counts = fixture.Synth.CountByType();
        foreach (var (type, count) in counts)
        {
            output.WriteLine($"{count,4} {type}");
        }

        var ours = fixture.Synth.OfType("AWS::Lambda::Function").Count(f => f.Properties.GetProperty("Runtime").GetString() == "provided.al2023");
        Assert.Equal(3, ours);
        Assert.Equal(2, counts["AWS::Lambda::Alias"]);
        Assert.Equal((3 * 6) + 3, counts["AWS::ApiGatewayV2::Route"]);
        Assert.Equal(3, counts["AWS::ApiGatewayV2::Integration"]);
        Assert.Equal(2, counts["AWS::SQS::Queue"]);
        Assert.Equal(1, counts["AWS::ECS::Service"]);
        Assert.Equal(1, counts["AWS::ApiGatewayV2::VpcLink"]);
        Assert.Equal(3, counts["AWS::CloudWatch::Dashboard"]);
        fixture.Synth.Template.ResourceCountIs("AWS::S3::Bucket", 2);
    }
}
