using Amazon.CDK.AWS.Apigatewayv2;
using Amazon.CDK.AwsApigatewayv2Authorizers;
using Amazon.CDK.AwsApigatewayv2Integrations;
using Constructs;
using Serverless.Infra.Configuration;
using HttpMethod = Amazon.CDK.AWS.Apigatewayv2.HttpMethod;

namespace Serverless.Infra.Components;

/// <summary>
/// The HTTP API (API Gateway v2) in front of every model. Each model gets the Open Inference Protocol v2
/// routes, with and without a version; light models go to their function's <c>live</c> alias, heavy models
/// through a VPC link to the GPU service's internal load balancer. The server-level routes (<c>GET /v2</c>,
/// <c>/v2/health/live</c>, <c>/v2/health/ready</c>) go to the first light model's function by name (any
/// function answers them for itself), or to the GPU service when every model is heavy.
/// Callers authenticate with IAM (SigV4) by default, a JWT when configured, or not at all only when
/// <c>apiAuth=none</c> is given.
/// </summary>
internal sealed class InferenceApi : Construct
{
    public InferenceApi(Construct scope, string id, InfraSettings settings, IReadOnlyList<ModelFunction> functions, IReadOnlyList<string> heavyModels, GpuService? gpu)
        : base(scope, id)
    {
        Api = new HttpApi(this, "Api", new HttpApiProps
        {
            ApiName = $"serverless-{settings.Stage}",
            Description = "Open Inference Protocol v2 for every model.",
            DefaultAuthorizer = Authorizer(settings),
            CreateDefaultStage = true,
        });

        HttpRouteIntegration? gpuIntegration = null;
        if (gpu is not null)
        {
            var link = new VpcLink(this, "GpuLink", new VpcLinkProps
            {
                Vpc = gpu.Vpc,
                SecurityGroups = [gpu.VpcLinkSecurityGroup],
            });
            gpuIntegration = new HttpAlbIntegration("GpuService", gpu.Listener, new HttpAlbIntegrationProps { VpcLink = link });
        }

        HttpRouteIntegration? serverIntegration = null;
        foreach (var function in functions)
        {
            var integration = new HttpLambdaIntegration("Model-" + function.Model.Name, function.Alias);
            serverIntegration ??= integration;
            AddModelRoutes(function.Model.Name, integration);
        }

        foreach (var name in heavyModels)
        {
            AddModelRoutes(name, gpuIntegration ?? throw new InvalidOperationException($"Heavy model '{name}' has no GPU service to route to."));
        }

        serverIntegration ??= gpuIntegration;
        if (serverIntegration is not null)
        {
            foreach (var path in ServerPaths)
            {
                Api.AddRoutes(new AddRoutesOptions { Path = path, Methods = [HttpMethod.GET], Integration = serverIntegration });
            }
        }
    }

    /// <summary>Server-level protocol routes (GET only).</summary>
    public static readonly string[] ServerPaths = ["/v2", "/v2/health/live", "/v2/health/ready"];

    public HttpApi Api { get; }

    /// <summary>The six routes of one model: metadata, readiness and inference, each with and without a version.</summary>
    public static IEnumerable<(HttpMethod Method, string Path)> ModelRoutes(string name)
    {
        foreach (var root in new[] { $"/v2/models/{name}", $"/v2/models/{name}/versions/{{version}}" })
        {
            yield return (HttpMethod.GET, root);
            yield return (HttpMethod.GET, root + "/ready");
            yield return (HttpMethod.POST, root + "/infer");
        }
    }

    private void AddModelRoutes(string name, HttpRouteIntegration integration)
    {
        foreach (var (method, path) in ModelRoutes(name))
        {
            Api.AddRoutes(new AddRoutesOptions { Path = path, Methods = [method], Integration = integration });
        }
    }

    private static IHttpRouteAuthorizer Authorizer(InfraSettings settings) => settings.ApiAuth switch
    {
        ApiAuthMode.Jwt => new HttpJwtAuthorizer("Jwt", settings.JwtIssuer!, new HttpJwtAuthorizerProps
        {
            JwtAudience = [.. settings.JwtAudience],
        }),
        ApiAuthMode.None => new HttpNoneAuthorizer(),
        _ => new HttpIamAuthorizer(),
    };
}
