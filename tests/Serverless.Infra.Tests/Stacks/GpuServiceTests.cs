using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

[Collection(MixedStackCollection.Name)]
public sealed class GpuServiceTests(MixedModelsFixture fixture)
{
    [Fact]
    public void GpuService_RunsOnEcsGpuHostsThroughACapacityProvider()
    {
        var service = fixture.Synth.OfType("AWS::ECS::Service").Single().Properties;
        var providerId = fixture.Synth.OfType("AWS::ECS::CapacityProvider").Single().Id;
        var template = fixture.Synth.OfType("AWS::EC2::LaunchTemplate").Single().Properties.GetProperty("LaunchTemplateData");
        var amiParameter = Cfn.Ref(template.GetProperty("ImageId"))!;

        Assert.Equal(providerId, Cfn.Ref(service.GetProperty("CapacityProviderStrategy")[0].GetProperty("CapacityProvider")));
        Assert.Equal("g5.xlarge", template.GetProperty("InstanceType").GetString());
        Assert.Equal("required", template.GetProperty("MetadataOptions").GetProperty("HttpTokens").GetString());
        var ami = fixture.Synth.Json.RootElement.GetProperty("Parameters").GetProperty(amiParameter).GetProperty("Default").GetString();
        Assert.Equal("/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id", ami);
        var scaling = fixture.Synth.OfType("AWS::ECS::CapacityProvider").Single().Properties.GetProperty("AutoScalingGroupProvider").GetProperty("ManagedScaling");
        Assert.Equal("ENABLED", scaling.GetProperty("Status").GetString());
    }

    [Fact]
    public void GpuTask_ReservesOneGpuAndReadsOnlyHeavyModels()
    {
        var task = fixture.Synth.OfType("AWS::ECS::TaskDefinition").Single().Properties;
        var container = task.GetProperty("ContainerDefinitions")[0];
        var gpu = container.GetProperty("ResourceRequirements").EnumerateArray().Single();

        Assert.Equal("GPU", gpu.GetProperty("Type").GetString());
        Assert.Equal("1", gpu.GetProperty("Value").GetString());
        var env = container.GetProperty("Environment").EnumerateArray().ToDictionary(e => e.GetProperty("Name").GetString()!, e => e.GetProperty("Value"));
        Assert.Equal(MixedModelsFixture.Heavy, env["MODEL_NAMES"].GetString());

        var taskRoleId = Cfn.GetAttId(task.GetProperty("TaskRoleArn"));
        var reads = fixture.Synth.OfType("AWS::IAM::Policy").Where(p => p.Properties.GetProperty("Roles").EnumerateArray().Any(r => Cfn.Ref(r) == taskRoleId))
            .SelectMany(p => p.Properties.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            .Where(s => Cfn.Items(s.GetProperty("Action")).Any(a => a.GetString() == "s3:GetObject"))
            .SelectMany(s => Cfn.Items(s.GetProperty("Resource"))).Select(Cfn.LiteralTail);
        Assert.Equal([$"/models/{MixedModelsFixture.Heavy}/*"], reads);
    }

    [Fact]
    public void GpuService_SitsBehindAnInternalAlbCheckingReadiness()
    {
        var alb = fixture.Synth.OfType("AWS::ElasticLoadBalancingV2::LoadBalancer").Single().Properties;
        var group = fixture.Synth.OfType("AWS::ElasticLoadBalancingV2::TargetGroup").Single().Properties;

        Assert.Equal("internal", alb.GetProperty("Scheme").GetString());
        Assert.Equal("/v2/health/ready", group.GetProperty("HealthCheckPath").GetString());
        Assert.Equal(8080, group.GetProperty("Port").GetInt32());
    }

    [Fact]
    public void GpuService_ScalesOnRequestsPerTargetFromZero()
    {
        var target = fixture.Synth.OfType("AWS::ApplicationAutoScaling::ScalableTarget").Single().Properties;
        var policies = fixture.Synth.OfType("AWS::ApplicationAutoScaling::ScalingPolicy").Select(p => p.Properties).ToList();
        var policy = policies.Single(p => p.GetProperty("PolicyType").GetString() == "TargetTrackingScaling");
        var wake = policies.Single(p => p.GetProperty("PolicyType").GetString() == "StepScaling");

        Assert.Equal(0, target.GetProperty("MinCapacity").GetInt32());
        Assert.Equal(2, target.GetProperty("MaxCapacity").GetInt32());
        Assert.Equal("ALBRequestCountPerTarget", policy.GetProperty("TargetTrackingScalingPolicyConfiguration")
            .GetProperty("PredefinedMetricSpecification").GetProperty("PredefinedMetricType").GetString());
        // Target tracking cannot start the first task; load-balancer 5xx (no healthy target) adds one.
        var step = wake.GetProperty("StepScalingPolicyConfiguration");
        Assert.Equal("ChangeInCapacity", step.GetProperty("AdjustmentType").GetString());
        Assert.Equal(1, step.GetProperty("StepAdjustments").EnumerateArray().Single().GetProperty("ScalingAdjustment").GetInt32());
        Assert.Contains(fixture.Synth.OfType("AWS::CloudWatch::Alarm"), a =>
            a.Properties.TryGetProperty("MetricName", out var m) && m.GetString() == "HTTPCode_ELB_5XX_Count"
            && a.Properties.GetProperty("AlarmActions")[0].TryGetProperty("Ref", out var r) && r.GetString() == fixture.Synth.OfType("AWS::ApplicationAutoScaling::ScalingPolicy").Single(p => p.Properties.GetProperty("PolicyType").GetString() == "StepScaling").Id);
    }

    [Fact]
    public void GpuTask_RequiresCudaAndChecksReadinessInTheContainer()
    {
        var container = fixture.Synth.OfType("AWS::ECS::TaskDefinition").Single().Properties.GetProperty("ContainerDefinitions")[0];
        var env = container.GetProperty("Environment").EnumerateArray().ToDictionary(e => e.GetProperty("Name").GetString()!, e => e.GetProperty("Value"));
        var check = container.GetProperty("HealthCheck");
        var command = check.GetProperty("Command").EnumerateArray().Select(c => c.GetString()!).ToArray();

        Assert.Equal("true", env["GPU_REQUIRED"].GetString());
        Assert.Equal(["CMD", "/bin/bash", "-c"], command[..3]);
        Assert.Contains("/dev/tcp/127.0.0.1/8080", command[3]);
        Assert.Contains("GET /v2/health/ready HTTP/1.1", command[3]);
        Assert.Equal(120, check.GetProperty("StartPeriod").GetInt32());
    }

    [Fact]
    public void GpuService_AlarmsWhenATaskCannotAddTheCudaProvider()
    {
        var filter = fixture.Synth.OfType("AWS::Logs::MetricFilter").Single().Properties;
        var transform = filter.GetProperty("MetricTransformations")[0];
        var alarm = fixture.Synth.OfType("AWS::CloudWatch::Alarm").Single(a => a.Properties.TryGetProperty("MetricName", out var m) && m.GetString() == "CudaUnavailable").Properties;
        var logGroupId = fixture.Synth.OfType("AWS::Logs::LogGroup").Single(g => g.Id.Contains("Gpu", StringComparison.Ordinal)).Id;

        Assert.Equal(logGroupId, Cfn.Ref(filter.GetProperty("LogGroupName")));
        // The words of the server's fatal line (Serverless.Gpu's CudaProbe; GpuRequiredProcessTests checks the line).
        Assert.Equal("\"GPU_REQUIRED=true\" \"could not add the CUDA execution provider\"", filter.GetProperty("FilterPattern").GetString());
        Assert.Equal("Serverless/Gpu", transform.GetProperty("MetricNamespace").GetString());
        Assert.Equal("Serverless/Gpu", alarm.GetProperty("Namespace").GetString());
        Assert.Equal("serverless-prod-gpu-cuda-unavailable", alarm.GetProperty("AlarmName").GetString());
        Assert.Equal(1, alarm.GetProperty("Threshold").GetDouble());
        Assert.Equal("GreaterThanOrEqualToThreshold", alarm.GetProperty("ComparisonOperator").GetString());
    }

    [Fact]
    public void GpuService_AlarmsOnTargetsFailingTheReadinessCheck()
    {
        var alarm = fixture.Synth.OfType("AWS::CloudWatch::Alarm").Single(a => a.Properties.TryGetProperty("MetricName", out var m) && m.GetString() == "UnHealthyHostCount").Properties;

        Assert.Equal("AWS/ApplicationELB", alarm.GetProperty("Namespace").GetString());
        Assert.Equal("serverless-prod-gpu-unhealthy-targets", alarm.GetProperty("AlarmName").GetString());
        Assert.Equal(3, alarm.GetProperty("EvaluationPeriods").GetInt32());
        Assert.Contains(alarm.GetProperty("Dimensions").EnumerateArray(), d => d.GetProperty("Name").GetString() == "TargetGroup");
    }
}
