using Amazon.CDK;
using Amazon.CDK.AWS.AutoScaling;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.Ecr.Assets;
using Amazon.CDK.AWS.ECS;
using Amazon.CDK.AWS.ElasticLoadBalancingV2;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Logs;
using Constructs;
using Serverless.Core.Models;
using Serverless.Infra.Configuration;
using HealthCheck = Amazon.CDK.AWS.ElasticLoadBalancingV2.HealthCheck;
using Protocol = Amazon.CDK.AWS.ElasticLoadBalancingV2.Protocol;

namespace Serverless.Infra.Components;

/// <summary>
/// The GPU service for heavy models: a two-AZ VPC, an ECS cluster on EC2 GPU instances (ECS GPU-optimized
/// Amazon Linux 2 AMI) scaled by a capacity provider, one task per instance reserving one GPU, and an
/// internal ALB that the HTTP API reaches through a VPC link. Tasks scale on requests per target, between
/// the configured min (0 allowed) and max. The container requires CUDA (GPU_REQUIRED=true): a task that cannot
/// add the CUDA provider exits at start-up, which the container health check, the unhealthy-target alarm and
/// the CUDA-unavailable alarm (a metric filter on the server's fatal line) all report.
/// </summary>
internal sealed class GpuService : Construct
{
    public const int ContainerPort = 8080;
    public const string HealthCheckPath = "/v2/health/ready";

    /// <summary>Words of the line the server writes to stderr when GPU_REQUIRED=true and CUDA cannot be added.</summary>
    public static readonly string[] CudaUnavailableTerms = ["GPU_REQUIRED=true", "could not add the CUDA execution provider"];

    /// <summary>Requests per task per minute that target tracking aims for.</summary>
    public const int RequestsPerTarget = 600;

    public GpuService(Construct scope, string id, InfraSettings settings, ModelStorage storage, IReadOnlyList<ModelManifest> models) : base(scope, id)
    {
        var dockerfile = Path.Combine(settings.GpuImageContext, settings.GpuDockerfile);
        if (!File.Exists(dockerfile))
        {
            throw new InfraConfigException($"The GPU service is needed ({(models.Count > 0 ? "heavy models: " + string.Join(", ", models.Select(m => m.Name)) : "forceGpuService=true")}) but its Dockerfile '{dockerfile}' does not exist. Build functions/Serverless.Gpu first, or point -c {InfraSettings.GpuImageContextKey}=<folder> and -c {InfraSettings.GpuDockerfileKey}=<path inside it> at a Dockerfile.");
        }

        Vpc = new Vpc(this, "Vpc", new VpcProps { MaxAzs = 2, NatGateways = 1 });
        Cluster = new Cluster(this, "Cluster", new ClusterProps { Vpc = Vpc, ContainerInsights = true });

        var instanceRole = new Role(this, "InstanceRole", new RoleProps
        {
            AssumedBy = new ServicePrincipal("ec2.amazonaws.com"),
            Description = "ECS agent on the GPU hosts.",
            ManagedPolicies = [ManagedPolicy.FromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
        });
        AddEcsAgentPermissions(instanceRole);

        var launchTemplate = new LaunchTemplate(this, "HostTemplate", new LaunchTemplateProps
        {
            InstanceType = new InstanceType(settings.GpuInstanceType),
            MachineImage = EcsOptimizedImage.AmazonLinux2(AmiHardwareType.GPU),
            UserData = UserData.ForLinux(),
            // ECS would add wildcard actions (ecs:Submit*) to a mutable role; AddEcsAgentPermissions spells them out.
            Role = instanceRole.WithoutPolicyUpdates(),
            RequireImdsv2 = true,
            SecurityGroup = new SecurityGroup(this, "HostSecurityGroup", new SecurityGroupProps { Vpc = Vpc, AllowAllOutbound = true }),
            BlockDevices =
            [
                new Amazon.CDK.AWS.EC2.BlockDevice
                {
                    DeviceName = "/dev/xvda",
                    Volume = Amazon.CDK.AWS.EC2.BlockDeviceVolume.Ebs(200, new Amazon.CDK.AWS.EC2.EbsDeviceOptions { Encrypted = true, VolumeType = Amazon.CDK.AWS.EC2.EbsDeviceVolumeType.GP3 }),
                },
            ],
        });
        var hosts = new AutoScalingGroup(this, "Hosts", new AutoScalingGroupProps
        {
            Vpc = Vpc,
            VpcSubnets = new SubnetSelection { SubnetType = SubnetType.PRIVATE_WITH_EGRESS },
            LaunchTemplate = launchTemplate,
            MinCapacity = settings.GpuMinCapacity,
            MaxCapacity = settings.GpuMaxCapacity,
        });
        var capacity = new AsgCapacityProvider(this, "Capacity", new AsgCapacityProviderProps
        {
            AutoScalingGroup = hosts,
            EnableManagedScaling = true,
            EnableManagedTerminationProtection = true,
            TargetCapacityPercent = 100,
        });
        Cluster.AddAsgCapacityProvider(capacity);

        var task = new Ec2TaskDefinition(this, "Task", new Ec2TaskDefinitionProps { NetworkMode = Amazon.CDK.AWS.ECS.NetworkMode.BRIDGE });
        var image = new DockerImageAsset(this, "Image", new DockerImageAssetProps
        {
            Directory = settings.GpuImageContext,
            File = settings.GpuDockerfile,
            Platform = Platform_.LINUX_AMD64,
            // The default context is the repository root: keep build outputs, caches and the CDK output out of it.
            Exclude = ["**/bin", "**/obj", "node_modules", ".cache", ".git", "artifacts", "**/cdk.out", "infra-cdk", "bench", "tests"],
        });
        var logs = new LogGroup(this, "Logs", new LogGroupProps { Retention = RetentionDays.ONE_MONTH, RemovalPolicy = RemovalPolicy.DESTROY });
        task.AddContainer("Server", new ContainerDefinitionOptions
        {
            Image = ContainerImage.FromDockerImageAsset(image),
            GpuCount = 1,
            // Leave room for the ECS agent and the OS on the smallest GPU hosts (g4dn/g5.xlarge: 16 GiB).
            MemoryReservationMiB = 12_288,
            PortMappings = [new PortMapping { ContainerPort = ContainerPort, Protocol = Amazon.CDK.AWS.ECS.Protocol.TCP }],
            Environment = new Dictionary<string, string>
            {
                ["MODEL_NAMES"] = string.Join(',', models.Select(m => m.Name)),
                ["MODEL_STORE"] = storage.ModelStoreUri,
                ["MODEL_CACHE_DIR"] = "/var/cache/models",
                ["PORT"] = ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["SERVERLESS_STAGE"] = settings.Stage,
                // Also the image's default; set here so that the task definition shows the contract.
                ["GPU_REQUIRED"] = "true",
            },
            // The image has bash but no curl: readiness over /dev/tcp. A server that exits at start-up (no CUDA)
            // never passes it, and ECS replaces the task.
            HealthCheck = new Amazon.CDK.AWS.ECS.HealthCheck
            {
                Command =
                [
                    "CMD", "/bin/bash", "-c",
                    $"exec 3<>/dev/tcp/127.0.0.1/{ContainerPort} && printf 'GET {HealthCheckPath} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3 && head -n 1 <&3 | grep -q ' 200 '",
                ],
                Interval = Duration.Seconds(15),
                Timeout = Duration.Seconds(5),
                Retries = 3,
                StartPeriod = Duration.Seconds(120),
            },
            Logging = LogDrivers.AwsLogs(new AwsLogDriverProps { StreamPrefix = "gpu", LogGroup = logs }),
        });
        var cudaUnavailable = new MetricFilter(this, "CudaUnavailableFilter", new MetricFilterProps
        {
            LogGroup = logs,
            FilterPattern = FilterPattern.AllTerms(CudaUnavailableTerms),
            MetricNamespace = "Serverless/Gpu",
            MetricName = "CudaUnavailable",
            MetricValue = "1",
        });
        CudaUnavailableAlarm = new Alarm(this, "CudaUnavailable", new AlarmProps
        {
            AlarmName = $"serverless-{settings.Stage}-gpu-cuda-unavailable",
            AlarmDescription = "A GPU task stopped at start-up because ONNX Runtime could not add the CUDA execution provider (GPU_REQUIRED=true). " +
                               "Its log line names the missing library; check the image's CUDA/cuDNN majors and the host driver (docs/gpu.md).",
            Metric = cudaUnavailable.Metric(new MetricOptions { Statistic = "Sum", Period = Duration.Minutes(1) }),
            Threshold = 1,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });
        foreach (var model in models)
        {
            S3Access.AddTo(task.TaskRole, S3Access.ReadPrefix(storage.ModelBucket, ModelStorage.ModelPrefix + model.Name + "/"));
        }

        storage.GrantKeyDecrypt(task.TaskRole);

        Service = new Ec2Service(this, "Service", new Ec2ServiceProps
        {
            Cluster = Cluster,
            TaskDefinition = task,
            DesiredCount = settings.GpuMinCapacity,
            CapacityProviderStrategies = [new CapacityProviderStrategy { CapacityProvider = capacity.CapacityProviderName, Weight = 1 }],
            CircuitBreaker = new DeploymentCircuitBreaker { Rollback = true },
            // One GPU per host: a rolling deploy must stop an old task before the new one can take its GPU.
            MinHealthyPercent = 0,
            MaxHealthyPercent = 100,
        });

        LoadBalancer = new ApplicationLoadBalancer(this, "Alb", new ApplicationLoadBalancerProps { Vpc = Vpc, InternetFacing = false });
        Listener = LoadBalancer.AddListener("Http", new BaseApplicationListenerProps { Port = 80, Protocol = ApplicationProtocol.HTTP, Open = false });
        TargetGroup = Listener.AddTargets("Servers", new AddApplicationTargetsProps
        {
            Port = ContainerPort,
            Protocol = ApplicationProtocol.HTTP,
            Targets = [Service],
            DeregistrationDelay = Duration.Seconds(30),
            HealthCheck = new HealthCheck
            {
                Path = HealthCheckPath,
                Protocol = Protocol.HTTP,
                HealthyHttpCodes = "200",
                Interval = Duration.Seconds(15),
                HealthyThresholdCount = 2,
            },
        });

        UnhealthyTargetsAlarm = new Alarm(this, "UnhealthyTargets", new AlarmProps
        {
            AlarmName = $"serverless-{settings.Stage}-gpu-unhealthy-targets",
            AlarmDescription = $"A GPU task has failed the load balancer's {HealthCheckPath} check for 3 minutes.",
            Metric = TargetGroup.Metrics.UnhealthyHostCount(new MetricOptions { Statistic = "Maximum", Period = Duration.Minutes(1) }),
            Threshold = 1,
            EvaluationPeriods = 3,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });

        var scaling = Service.AutoScaleTaskCount(new Amazon.CDK.AWS.ApplicationAutoScaling.EnableScalingProps
        {
            MinCapacity = settings.GpuMinCapacity,
            MaxCapacity = settings.GpuMaxCapacity,
        });
        scaling.ScaleOnRequestCount("RequestsPerTarget", new Amazon.CDK.AWS.ECS.RequestCountScalingProps
        {
            RequestsPerTarget = RequestsPerTarget,
            TargetGroup = TargetGroup,
            ScaleInCooldown = Duration.Minutes(10),
            ScaleOutCooldown = Duration.Minutes(1),
        });

        if (settings.GpuMinCapacity == 0)
        {
            // Requests-per-target has no targets to divide by at zero tasks, so it can never start the first
            // one. The ALB answers 5xx itself when no target is healthy: each minute with such errors adds a task.
            scaling.ScaleOnMetric("WakeFromZero", new Amazon.CDK.AWS.ApplicationAutoScaling.BasicStepScalingPolicyProps
            {
                Metric = LoadBalancer.Metrics.HttpCodeElb(HttpCodeElb.ELB_5XX_COUNT, new Amazon.CDK.AWS.CloudWatch.MetricOptions
                {
                    Period = Duration.Minutes(1),
                    Statistic = "Sum",
                }),
                AdjustmentType = Amazon.CDK.AWS.ApplicationAutoScaling.AdjustmentType.CHANGE_IN_CAPACITY,
                ScalingSteps =
                [
                    new Amazon.CDK.AWS.ApplicationAutoScaling.ScalingInterval { Upper = 0, Change = 0 },
                    new Amazon.CDK.AWS.ApplicationAutoScaling.ScalingInterval { Lower = 1, Change = 1 },
                ],
                Cooldown = Duration.Minutes(3),
            });
        }

        VpcLinkSecurityGroup = new SecurityGroup(this, "VpcLinkSecurityGroup", new SecurityGroupProps
        {
            Vpc = Vpc,
            Description = "API Gateway VPC link to the internal GPU load balancer.",
            AllowAllOutbound = false,
        });
        Listener.Connections.AllowDefaultPortFrom(VpcLinkSecurityGroup, "API Gateway VPC link");
        VpcLinkSecurityGroup.Connections.AllowTo(LoadBalancer, Port.Tcp(80), "to the internal GPU load balancer");
    }

    public Vpc Vpc { get; }

    public Cluster Cluster { get; }

    public Ec2Service Service { get; }

    public ApplicationLoadBalancer LoadBalancer { get; }

    public ApplicationListener Listener { get; }

    public ApplicationTargetGroup TargetGroup { get; }

    public SecurityGroup VpcLinkSecurityGroup { get; }

    public Alarm CudaUnavailableAlarm { get; }

    public Alarm UnhealthyTargetsAlarm { get; }

    // The instance-role actions the ECS agent needs (AWS's "Amazon ECS container instance IAM role"),
    // spelled out instead of CDK's ecs:Submit* and scoped to this cluster where the action allows it.
    private void AddEcsAgentPermissions(Role role)
    {
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EcsAgentCluster",
            Actions =
            [
                "ecs:DeregisterContainerInstance", "ecs:RegisterContainerInstance", "ecs:SubmitAttachmentStateChanges",
                "ecs:SubmitContainerStateChange", "ecs:SubmitTaskStateChange",
            ],
            Resources = [Cluster.ClusterArn],
        }));
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EcsAgentInstances",
            Actions = ["ecs:Poll", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState"],
            Resources = ["*"],
            Conditions = new Dictionary<string, object> { ["ArnEquals"] = new Dictionary<string, object> { ["ecs:cluster"] = Cluster.ClusterArn } },
        }));
        // These actions do not support resource-level permissions.
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EcsAgentDiscovery",
            Actions = ["ecs:DiscoverPollEndpoint", "ecr:GetAuthorizationToken", "logs:CreateLogStream", "logs:PutLogEvents"],
            Resources = ["*"],
        }));
    }
}
