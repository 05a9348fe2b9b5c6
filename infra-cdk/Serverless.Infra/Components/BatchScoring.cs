using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Lambda.EventSources;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.S3.Notifications;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Serverless.Core.Models;
using Serverless.Infra.Configuration;
using Serverless.Infra.Placement;

namespace Serverless.Infra.Components;

/// <summary>
/// Batch scoring: an object written to <c>incoming/&lt;model&gt;/&lt;anything&gt;</c> in the batch bucket is
/// queued (S3 -> SQS) and scored by one batch function (the same bootstrap.zip with BATCH_MODE=1), which
/// takes the model name from the key's second segment and writes <c>results/&lt;model&gt;/&lt;anything&gt;</c>.
/// Failed messages are retried and then parked in a dead-letter queue, whose depth raises an alarm.
/// Only light models are scored here; keys for other models fail and land in the DLQ.
/// </summary>
internal sealed class BatchScoring : Construct
{
    /// <summary>Long enough for a large file; SQS visibility is six times this (AWS's guidance for Lambda).</summary>
    public static readonly Duration FunctionTimeout = Duration.Minutes(15);

    public const int VisibilityTimeoutFactor = 6;
    public const int MaxReceiveCount = 3;
    public const int BatchSize = 2;

    /// <summary>Where continuation markers go: a '.continue' folder beside each input.</summary>
    public const string ContinuationMarkerPrefix = ModelStorage.IncomingPrefix + "*/.continue/";

    public BatchScoring(Construct scope, string id, InfraSettings settings, ModelStorage storage, IReadOnlyList<ModelManifest> models) : base(scope, id)
    {
        DeadLetterQueue = new Queue(this, "DeadLetters", new QueueProps
        {
            RetentionPeriod = Duration.Days(14),
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
        });
        Queue = new Queue(this, "Jobs", new QueueProps
        {
            VisibilityTimeout = Duration.Seconds(FunctionTimeout.ToSeconds() * VisibilityTimeoutFactor),
            RetentionPeriod = Duration.Days(4),
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            DeadLetterQueue = new DeadLetterQueue { Queue = DeadLetterQueue, MaxReceiveCount = MaxReceiveCount },
        });
        storage.BatchBucket.AddEventNotification(
            EventType.OBJECT_CREATED,
            new SqsDestination(Queue),
            new NotificationKeyFilter { Prefix = ModelStorage.IncomingPrefix });

        // Sized for the hungriest model it may be asked to score.
        var memory = models.Count == 0 ? 1024 : models.Max(ModelPlacement.LambdaMemoryMb);
        var ephemeral = models.Count == 0 ? 512 : models.Max(ModelPlacement.EphemeralStorageMb);
        Function = new Function(this, "Function", new FunctionProps
        {
            Description = "Scores files dropped under incoming/<model>/ into results/<model>/.",
            Runtime = Runtime.PROVIDED_AL2023,
            Handler = "bootstrap",
            Architecture = ModelFunction.ToCdk(settings.LambdaArchitecture),
            Code = Code.FromAsset(settings.PackageFor(settings.LambdaArchitecture)),
            MemorySize = memory,
            EphemeralStorageSize = Size.Mebibytes(ephemeral),
            Timeout = FunctionTimeout,
            Tracing = Tracing.ACTIVE,
            LogGroup = new LogGroup(this, "Logs", new LogGroupProps { Retention = RetentionDays.ONE_MONTH, RemovalPolicy = RemovalPolicy.DESTROY }),
            Environment = new Dictionary<string, string>
            {
                ["BATCH_MODE"] = "1",
                ["BATCH_BUCKET"] = storage.BatchBucket.BucketName,
                ["BATCH_INCOMING_PREFIX"] = ModelStorage.IncomingPrefix,
                ["BATCH_RESULTS_PREFIX"] = ModelStorage.ResultsPrefix,
                ["BATCH_MODELS"] = string.Join(',', models.Select(m => m.Name)),
                ["MODEL_STORE"] = storage.ModelStoreUri,
                ["MODEL_CACHE_DIR"] = "/tmp/models",
                ["MODEL_MEMORY_BUDGET_MB"] = (memory * 3 / 4).ToString(CultureInfo.InvariantCulture),
                ["SERVERLESS_STAGE"] = settings.Stage,
            },
        });

        // The batch scorer (Serverless.Core/Batch, Serverless.Lambda/Batch) reads inputs, writes results and
        // reads back its own checkpoints and parts under results/, and, in the default continuation mode,
        // writes a marker next to an unfinished input (incoming/<model>/.continue/<tag>.json) whose creation
        // event resumes the job. It never deletes.
        var role = Function.Role!;
        S3Access.AddTo(role, S3Access.ReadPrefix(storage.BatchBucket, ModelStorage.IncomingPrefix));
        S3Access.AddTo(role, S3Access.ReadPrefix(storage.BatchBucket, ModelStorage.ResultsPrefix));
        role.AddToPrincipalPolicy(S3Access.WritePrefix(storage.BatchBucket, ModelStorage.ResultsPrefix));
        role.AddToPrincipalPolicy(S3Access.WritePrefix(storage.BatchBucket, ContinuationMarkerPrefix));
        foreach (var model in models)
        {
            S3Access.AddTo(role, S3Access.ReadPrefix(storage.ModelBucket, ModelStorage.ModelPrefix + model.Name + "/"));
        }

        storage.GrantKeyDecrypt(role);

        Function.AddEventSource(new SqsEventSource(Queue, new SqsEventSourceProps
        {
            BatchSize = BatchSize,
            // One bad file must not send its batch-mates back to the queue.
            ReportBatchItemFailures = true,
            MaxConcurrency = 10,
        }));

        DeadLetterAlarm = new Alarm(this, "DeadLettersAlarm", new AlarmProps
        {
            AlarmName = $"serverless-{settings.Stage}-batch-dead-letters",
            AlarmDescription = "Batch jobs failed 3 times and were parked in the dead-letter queue; inspect and redrive them.",
            Metric = DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Period = Duration.Minutes(1), Statistic = "Maximum" }),
            Threshold = 1,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });
    }

    public Queue Queue { get; }

    public Queue DeadLetterQueue { get; }

    public Function Function { get; }

    public Alarm DeadLetterAlarm { get; }
}
