using System.Text.Json;
using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

[Collection(MixedStackCollection.Name)]
public sealed class BatchScoringTests(MixedModelsFixture fixture)
{
    private (string Id, JsonElement Properties) BatchFunction() =>
        fixture.Synth.OfType("AWS::Lambda::Function").Single(f => Cfn.Environment(f.Properties).GetValueOrDefault("BATCH_MODE") == "1");

    private (string Id, JsonElement Properties) JobsQueue() =>
        fixture.Synth.OfType("AWS::SQS::Queue").Single(q => q.Properties.TryGetProperty("RedrivePolicy", out _));

    [Fact]
    public void JobsQueue_RedrivesToADeadLetterQueueAfterThreeReceives()
    {
        var (_, jobs) = JobsQueue();
        var redrive = jobs.GetProperty("RedrivePolicy");
        var dlqId = Cfn.GetAttId(redrive.GetProperty("deadLetterTargetArn"));

        Assert.Equal(3, redrive.GetProperty("maxReceiveCount").GetInt32());
        Assert.Equal("AWS::SQS::Queue", fixture.Synth.Resource(dlqId!).GetProperty("Type").GetString());
        Assert.True(jobs.GetProperty("SqsManagedSseEnabled").GetBoolean());
    }

    [Fact]
    public void JobsQueueVisibility_IsAtLeastSixTimesTheBatchFunctionTimeout()
    {
        var visibility = JobsQueue().Properties.GetProperty("VisibilityTimeout").GetInt32();
        var timeout = BatchFunction().Properties.GetProperty("Timeout").GetInt32();

        Assert.Equal(900, timeout);
        Assert.True(visibility >= 6 * timeout, $"visibility {visibility}s < 6 x function timeout {timeout}s");
    }

    [Fact]
    public void BatchFunction_ReadsTheQueueReportingPartialBatchFailures()
    {
        var (fnId, _) = BatchFunction();
        var (mapping, jobsId) = (fixture.Synth.OfType("AWS::Lambda::EventSourceMapping").Single().Properties, JobsQueue().Id);

        Assert.Equal(fnId, Cfn.Ref(mapping.GetProperty("FunctionName")));
        Assert.Equal(jobsId, Cfn.GetAttId(mapping.GetProperty("EventSourceArn")));
        Assert.Equal(["ReportBatchItemFailures"], mapping.GetProperty("FunctionResponseTypes").EnumerateArray().Select(e => e.GetString()));
        Assert.InRange(mapping.GetProperty("BatchSize").GetInt32(), 1, 10);
    }

    [Fact]
    public void BatchFunction_IsTheSamePackageInBatchModeForTheLightModels()
    {
        var (_, fn) = BatchFunction();
        var env = Cfn.Environment(fn);

        Assert.Equal("provided.al2023", fn.GetProperty("Runtime").GetString());
        Assert.Equal($"{MixedModelsFixture.Small},{MixedModelsFixture.Large}", env["BATCH_MODELS"]);
        Assert.Equal("incoming/", env["BATCH_INCOMING_PREFIX"]);
        Assert.Equal("results/", env["BATCH_RESULTS_PREFIX"]);
        // Sized for the hungriest light model.
        Assert.Equal(3008, fn.GetProperty("MemorySize").GetInt32());
    }

    [Fact]
    public void IncomingObjects_AreQueuedByTheBatchBucketNotification()
    {
        var notification = fixture.Synth.OfType("Custom::S3BucketNotifications").Single().Properties;
        var queueConfig = notification.GetProperty("NotificationConfiguration").GetProperty("QueueConfigurations").EnumerateArray().Single();

        Assert.StartsWith("StorageBatchBucket", Cfn.Ref(notification.GetProperty("BucketName")));
        Assert.Equal(JobsQueue().Id, Cfn.GetAttId(queueConfig.GetProperty("QueueArn")));
        Assert.Equal("s3:ObjectCreated:*", queueConfig.GetProperty("Events")[0].GetString());
        var rule = queueConfig.GetProperty("Filter").GetProperty("Key").GetProperty("FilterRules")[0];
        Assert.Equal("prefix", rule.GetProperty("Name").GetString());
        Assert.Equal("incoming/", rule.GetProperty("Value").GetString());
    }

    [Fact]
    public void DeadLetterQueue_HasADepthAlarm()
    {
        var dlqId = Cfn.GetAttId(JobsQueue().Properties.GetProperty("RedrivePolicy").GetProperty("deadLetterTargetArn"));
        var alarm = fixture.Synth.OfType("AWS::CloudWatch::Alarm").Single(a => (a.Properties.TryGetProperty("AlarmName", out var name) ? name.GetString() : null) == "serverless-prod-batch-dead-letters").Properties;

        Assert.Equal("ApproximateNumberOfMessagesVisible", alarm.GetProperty("MetricName").GetString());
        Assert.Equal(dlqId, Cfn.GetAttId(alarm.GetProperty("Dimensions")[0].GetProperty("Value")));
        Assert.Equal(1, alarm.GetProperty("Threshold").GetDouble());
    }
}
