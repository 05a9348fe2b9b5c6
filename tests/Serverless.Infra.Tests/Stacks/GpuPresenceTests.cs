using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

/// <summary>The GPU service appears exactly when a heavy model or <c>forceGpuService</c> asks for it.</summary>
public sealed class GpuPresenceTests : IDisposable
{
    private readonly TestWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void ForceGpuService_WithOnlyLightModels_DeploysTheServiceButKeepsServerRoutesOnLambda()
    {
        _workspace.AddModel("light", 256);
        var context = _workspace.Context();
        context["forceGpuService"] = "true";

        using var synth = SynthesizedStack.Synthesize(_workspace, context);

        synth.Template.ResourceCountIs("AWS::ECS::Service", 1);
        var health = synth.OfType("AWS::ApiGatewayV2::Route").Single(r => r.Properties.GetProperty("RouteKey").GetString() == "GET /v2/health/ready").Properties;
        var integrationId = Cfn.Ref(health.GetProperty("Target").GetProperty("Fn::Join")[1][1])!;
        Assert.Equal("AWS_PROXY", synth.Resource(integrationId).GetProperty("Properties").GetProperty("IntegrationType").GetString());
    }

    [Fact]
    public void OnlyHeavyModels_SendServerRoutesToTheGpuService()
    {
        _workspace.AddModel("huge", 32_768);

        using var synth = SynthesizedStack.Synthesize(_workspace, _workspace.Context());

        Assert.True(synth.Stack.HasGpuService);
        Assert.DoesNotContain(synth.OfType("AWS::Lambda::Function"), f => Cfn.Environment(f.Properties).ContainsKey("MODEL_NAME"));
        var routes = synth.OfType("AWS::ApiGatewayV2::Route").ToList();
        Assert.Equal(6 + 3, routes.Count);
        Assert.All(routes, r =>
        {
            var integrationId = Cfn.Ref(r.Properties.GetProperty("Target").GetProperty("Fn::Join")[1][1])!;
            Assert.Equal("HTTP_PROXY", synth.Resource(integrationId).GetProperty("Properties").GetProperty("IntegrationType").GetString());
        });
    }
}
