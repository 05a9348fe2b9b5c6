using System.Text.Json;
using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

[Collection(MixedStackCollection.Name)]
public sealed class ApiRouteTests(MixedModelsFixture fixture)
{
    public static TheoryData<string> ModelRouteKeys(string model) =>
    [
        $"GET /v2/models/{model}",
        $"GET /v2/models/{model}/ready",
        $"POST /v2/models/{model}/infer",
        $"GET /v2/models/{model}/versions/{{version}}",
        $"GET /v2/models/{model}/versions/{{version}}/ready",
        $"POST /v2/models/{model}/versions/{{version}}/infer",
    ];

    private Dictionary<string, JsonElement> RoutesByKey() =>
        fixture.Synth.OfType("AWS::ApiGatewayV2::Route").ToDictionary(r => r.Properties.GetProperty("RouteKey").GetString()!, r => r.Properties);

    /// <summary>The integration a route targets ("integrations/" + Ref).</summary>
    private JsonElement IntegrationOf(JsonElement route)
    {
        var target = route.GetProperty("Target").GetProperty("Fn::Join")[1];
        Assert.Equal("integrations/", target[0].GetString());
        return fixture.Synth.Resource(Cfn.Ref(target[1])!).GetProperty("Properties");
    }

    private string AliasIdFor(string model)
    {
        var fnId = fixture.Synth.OfType("AWS::Lambda::Function").Single(f => Cfn.Environment(f.Properties).GetValueOrDefault("MODEL_NAME") == model).Id;
        return fixture.Synth.OfType("AWS::Lambda::Alias").Single(a => Cfn.Ref(a.Properties.GetProperty("FunctionName")) == fnId).Id;
    }

    [Theory]
    [InlineData(MixedModelsFixture.Small)]
    [InlineData(MixedModelsFixture.Large)]
    public void LightModelRoutes_AllProxyToTheModelsLiveAlias(string model)
    {
        var routes = RoutesByKey();
        var aliasId = AliasIdFor(model);

        foreach (var key in ModelRouteKeys(model))
        {
            Assert.True(routes.TryGetValue(key, out var route), $"missing route {key}");
            var integration = IntegrationOf(route);
            Assert.Equal("AWS_PROXY", integration.GetProperty("IntegrationType").GetString());
            Assert.Equal(aliasId, Cfn.Ref(integration.GetProperty("IntegrationUri")));
            Assert.Equal("2.0", integration.GetProperty("PayloadFormatVersion").GetString());
        }
    }

    [Fact]
    public void HeavyModelRoutes_GoThroughTheVpcLinkToTheInternalLoadBalancer()
    {
        var routes = RoutesByKey();
        var linkId = fixture.Synth.OfType("AWS::ApiGatewayV2::VpcLink").Single().Id;
        var listenerId = fixture.Synth.OfType("AWS::ElasticLoadBalancingV2::Listener").Single().Id;

        foreach (var key in ModelRouteKeys(MixedModelsFixture.Heavy))
        {
            Assert.True(routes.TryGetValue(key, out var route), $"missing route {key}");
            var integration = IntegrationOf(route);
            Assert.Equal("HTTP_PROXY", integration.GetProperty("IntegrationType").GetString());
            Assert.Equal("VPC_LINK", integration.GetProperty("ConnectionType").GetString());
            Assert.Equal(linkId, Cfn.Ref(integration.GetProperty("ConnectionId")));
            Assert.Equal(listenerId, Cfn.Ref(integration.GetProperty("IntegrationUri")));
        }
    }

    [Theory]
    [InlineData("GET /v2")]
    [InlineData("GET /v2/health/live")]
    [InlineData("GET /v2/health/ready")]
    public void ServerRoutes_GoToTheFirstLightModelByName(string key)
    {
        var route = RoutesByKey()[key];

        Assert.Equal(AliasIdFor(MixedModelsFixture.Small), Cfn.Ref(IntegrationOf(route).GetProperty("IntegrationUri")));
    }

    [Fact]
    public void EveryRoute_RequiresIamAuthorizationByDefault()
    {
        var routes = RoutesByKey();

        Assert.Equal(21, routes.Count);
        Assert.All(routes.Values, r => Assert.Equal("AWS_IAM", r.GetProperty("AuthorizationType").GetString()));
    }

    [Fact]
    public void NoRoute_ExistsForOtherMethodsOrUnknownModels()
    {
        var keys = RoutesByKey().Keys;

        Assert.DoesNotContain(keys, k => k.StartsWith("ANY ", StringComparison.Ordinal) || k.StartsWith("DELETE ", StringComparison.Ordinal) || k == "$default");
        Assert.DoesNotContain("POST /v2/models/{name}/infer", keys);
    }
}
