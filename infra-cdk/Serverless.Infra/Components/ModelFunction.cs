using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CodeDeploy;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Constructs;
using Serverless.Core.Models;
using Serverless.Infra.Configuration;
using Serverless.Infra.Placement;

namespace Serverless.Infra.Components;

/// <summary>
/// One light model's Lambda: the shared Native AOT bootstrap zip for its architecture (arm64 unless
/// <c>lambdaArchitectures</c> names it; custom runtime, provided.al2023) with MODEL_NAME set,
/// memory and /tmp sized from the manifest, read access to its own model prefix only, X-Ray tracing, a
/// log group with one month's retention, a <c>live</c> alias on the published version, alarms and a
/// dashboard, and (when <c>canary</c> is on) CodeDeploy shifting 10% of traffic for 5 minutes first.
/// </summary>
internal sealed class ModelFunction : Construct
{
    public const string AliasName = "live";

    /// <summary>HTTP requests are answered within API Gateway's 30 s integration limit.</summary>
    public static readonly Duration HttpTimeout = Duration.Seconds(29);

    public ModelFunction(Construct scope, string id, InfraSettings settings, ModelStorage storage, ModelManifest model) : base(scope, id)
    {
        Model = model;
        var logs = new LogGroup(this, "Logs", new LogGroupProps
        {
            Retention = RetentionDays.ONE_MONTH,
            RemovalPolicy = RemovalPolicy.DESTROY,
        });
        Function = new Function(this, "Function", new FunctionProps
        {
            Description = $"Serves model '{model.Name}' (Open Inference Protocol v2).",
            Runtime = Runtime.PROVIDED_AL2023,
            Handler = "bootstrap",
            Architecture = ToCdk(settings.ArchitectureFor(model.Name)),
            Code = Code.FromAsset(settings.PackageFor(settings.ArchitectureFor(model.Name))),
            MemorySize = ModelPlacement.LambdaMemoryMb(model),
            EphemeralStorageSize = Size.Mebibytes(ModelPlacement.EphemeralStorageMb(model)),
            Timeout = HttpTimeout,
            Tracing = Tracing.ACTIVE,
            LogGroup = logs,
            Environment = Environment(settings, storage, model),
        });
        S3Access.AddTo(Function.Role!, S3Access.ReadPrefix(storage.ModelBucket, ModelStorage.ModelPrefix + model.Name + "/"));
        storage.GrantKeyDecrypt(Function.Role!);

        Alias = new Alias(this, "Live", new AliasProps
        {
            AliasName = AliasName,
            Version = Function.CurrentVersion,
            Description = "The version that receives traffic; CodeDeploy moves it when canary is on.",
        });

        Monitoring = new ModelMonitoring(this, "Monitoring", settings.Stage, model.Name, new ModelSignals(
            Alias.MetricErrors(new MetricOptions { Period = Duration.Minutes(1), Statistic = "Sum" }),
            Alias.MetricDuration(new MetricOptions { Period = Duration.Minutes(1), Statistic = "p99" }),
            Alias.MetricThrottles(new MetricOptions { Period = Duration.Minutes(1), Statistic = "Sum" }),
            // Most of the 29 s budget; a p99 this high means requests are about to time out.
            P99LatencyThresholdMs: 20_000));

        if (settings.Canary)
        {
            _ = new LambdaDeploymentGroup(this, "Canary", new LambdaDeploymentGroupProps
            {
                Alias = Alias,
                DeploymentConfig = LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
                Alarms = Monitoring.All,
                AutoRollback = new AutoRollbackConfig { FailedDeployment = true, DeploymentInAlarm = true, StoppedDeployment = true },
            });
        }
    }

    public ModelManifest Model { get; }

    public Function Function { get; }

    /// <summary>What the API invokes: never $LATEST, so a deploy only takes traffic through the alias.</summary>
    public Alias Alias { get; }

    public ModelMonitoring Monitoring { get; }

    /// <summary>Lambda's architecture for ours (the batch function shares it).</summary>
    internal static Architecture ToCdk(LambdaArchitecture architecture) =>
        architecture == LambdaArchitecture.Arm64 ? Architecture.ARM_64 : Architecture.X86_64;

    private static Dictionary<string, string> Environment(InfraSettings settings, ModelStorage storage, ModelManifest model) => new()
    {
        ["MODEL_NAME"] = model.Name,
        ["MODEL_STORE"] = storage.ModelStoreUri,
        ["MODEL_CACHE_DIR"] = "/tmp/models",
        ["MODEL_MEMORY_BUDGET_MB"] = ModelPlacement.MemoryBudgetMb(model).ToString(CultureInfo.InvariantCulture),
        ["MODEL_PRELOAD"] = settings.Preload ? model.Name : string.Empty, // the shared contract: a comma-separated list of model names
        ["SERVERLESS_STAGE"] = settings.Stage,
    };
}
