using Amazon.CDK;
using Constructs;
using Serverless.Infra.Components;
using Serverless.Infra.Configuration;
using Serverless.Infra.Placement;

namespace Serverless.Infra.Stacks;

/// <summary>
/// The whole system in one stack: storage, one function per light model, batch scoring, the GPU service
/// (only when a heavy model exists or it is forced), the HTTP API, alarms and dashboards.
/// </summary>
public sealed class ServerlessStack : Stack
{
    public ServerlessStack(Construct scope, string id, InfraSettings settings, ModelCatalog catalog, IStackProps? props = null)
        : base(scope, id, props)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(catalog);
        Settings = settings;
        Catalog = catalog;

        var storage = new ModelStorage(this, "Storage", settings);
        var functions = new List<ModelFunction>(catalog.Light.Count);
        foreach (var model in catalog.Light)
        {
            functions.Add(new ModelFunction(this, "Model-" + model.Name, settings, storage, model));
        }

        var batch = new BatchScoring(this, "Batch", settings, storage, catalog.Light);

        GpuService? gpu = null;
        if (HasGpuService)
        {
            gpu = new GpuService(this, "Gpu", settings, storage, catalog.Heavy);
            foreach (var model in catalog.Heavy)
            {
                _ = new ModelMonitoring(this, "Monitoring-" + model.Name, settings.Stage, model.Name, new ModelSignals(
                    gpu.TargetGroup.Metrics.HttpCodeTarget(Amazon.CDK.AWS.ElasticLoadBalancingV2.HttpCodeTarget.TARGET_5XX_COUNT,
                        new Amazon.CDK.AWS.CloudWatch.MetricOptions { Period = Duration.Minutes(1), Statistic = "Sum" }),
                    // ALB reports seconds; the alarm threshold below is in the same unit.
                    gpu.TargetGroup.Metrics.TargetResponseTime(new Amazon.CDK.AWS.CloudWatch.MetricOptions { Period = Duration.Minutes(1), Statistic = "p99" }),
                    // No target to serve (scaled to zero, or capacity exhausted): the GPU service's throttling.
                    gpu.LoadBalancer.Metrics.HttpCodeElb(Amazon.CDK.AWS.ElasticLoadBalancingV2.HttpCodeElb.ELB_5XX_COUNT,
                        new Amazon.CDK.AWS.CloudWatch.MetricOptions { Period = Duration.Minutes(1), Statistic = "Sum" }),
                    P99LatencyThresholdMs: 20));
            }
        }

        var api = new InferenceApi(this, "Http", settings, functions, [.. catalog.Heavy.Select(m => m.Name)], gpu);

        _ = new CfnOutput(this, "ApiUrl", new CfnOutputProps { Value = api.Api.ApiEndpoint, Description = "Base URL of the inference API (append /v2/models/<name>/infer)." });
        _ = new CfnOutput(this, "ModelBucketName", new CfnOutputProps { Value = storage.ModelBucket.BucketName, Description = "Model artifacts live under models/<name>/<version>/." });
        _ = new CfnOutput(this, "BatchBucketName", new CfnOutputProps { Value = storage.BatchBucket.BucketName, Description = "Drop files under incoming/<model>/; results appear under results/<model>/." });
        _ = batch;
    }

    public InfraSettings Settings { get; }

    public ModelCatalog Catalog { get; }

    public bool HasGpuService => Catalog.Heavy.Count > 0 || Settings.ForceGpuService;

    /// <summary>Reads settings and manifests from the app's context and adds the stack (Serverless-&lt;stage&gt;).</summary>
    public static ServerlessStack Create(App app, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(app);
        var settings = InfraSettings.Load(key => app.Node.TryGetContext(key), baseDirectory);
        var catalog = ModelCatalog.Load(settings.ModelsDirectory);
        foreach (var named in settings.ModelArchitectures.Keys)
        {
            if (!catalog.Light.Any(m => m.Name == named))
            {
                throw new InfraConfigException($"Context '{InfraSettings.LambdaArchitecturesKey}' names '{named}', which is not a model served by a Lambda here (Lambda models: {string.Join(", ", catalog.Light.Select(m => m.Name))}). Fix the name or drop the entry.");
            }
        }

        // Environment-agnostic on purpose: `cdk deploy` targets the caller's account and region, and the
        // template needs no lookups (AZs come from Fn::GetAZs, the GPU AMI from an SSM parameter).
        return new ServerlessStack(app, "Serverless-" + settings.Stage, settings, catalog, new StackProps
        {
            Description = $"Serverless ONNX inference ({settings.Stage}): {catalog.Light.Count} Lambda model(s), {catalog.Heavy.Count} GPU model(s).",
        });
    }
}
