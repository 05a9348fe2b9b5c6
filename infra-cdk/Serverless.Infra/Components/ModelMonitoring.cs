using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Constructs;

namespace Serverless.Infra.Components;

/// <summary>The three signals watched for every model, whatever serves it.</summary>
internal sealed record ModelSignals(IMetric Errors, IMetric P99Latency, IMetric Throttles, double P99LatencyThresholdMs);

/// <summary>
/// Per-model alarms (errors, p99 latency, throttles) and one CloudWatch dashboard showing them. The alarms
/// are also what a canary deployment watches to roll back.
/// </summary>
internal sealed class ModelMonitoring : Construct
{
    public ModelMonitoring(Construct scope, string id, string stage, string modelName, ModelSignals signals) : base(scope, id)
    {
        var prefix = $"serverless-{stage}-{modelName}";
        ErrorsAlarm = new Alarm(this, "Errors", new AlarmProps
        {
            AlarmName = prefix + "-errors",
            AlarmDescription = $"Model '{modelName}' returned errors (5xx or function errors) in 2 of the last 3 minutes.",
            Metric = signals.Errors,
            Threshold = 1,
            EvaluationPeriods = 3,
            DatapointsToAlarm = 2,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });
        LatencyAlarm = new Alarm(this, "P99Latency", new AlarmProps
        {
            AlarmName = prefix + "-p99-latency",
            AlarmDescription = $"Model '{modelName}' p99 latency above {signals.P99LatencyThresholdMs} ms for 3 minutes.",
            Metric = signals.P99Latency,
            Threshold = signals.P99LatencyThresholdMs,
            EvaluationPeriods = 3,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });
        ThrottlesAlarm = new Alarm(this, "Throttles", new AlarmProps
        {
            AlarmName = prefix + "-throttles",
            AlarmDescription = $"Model '{modelName}' is being throttled (concurrency or capacity exhausted).",
            Metric = signals.Throttles,
            Threshold = 1,
            EvaluationPeriods = 3,
            DatapointsToAlarm = 2,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });

        var dashboard = new Dashboard(this, "Dashboard", new DashboardProps
        {
            // Dashboard names allow letters, digits, '-' and '_' only.
            DashboardName = prefix.Replace('.', '-'),
            DefaultInterval = Duration.Hours(3),
        });
        dashboard.AddWidgets(
            new GraphWidget(new GraphWidgetProps { Title = $"{modelName}: errors", Left = [signals.Errors], Width = 8 }),
            new GraphWidget(new GraphWidgetProps { Title = $"{modelName}: p99 latency (ms)", Left = [signals.P99Latency], Width = 8 }),
            new GraphWidget(new GraphWidgetProps { Title = $"{modelName}: throttles", Left = [signals.Throttles], Width = 8 }));
        dashboard.AddWidgets(new AlarmStatusWidget(new AlarmStatusWidgetProps
        {
            Title = $"{modelName}: alarms",
            Alarms = [ErrorsAlarm, LatencyAlarm, ThrottlesAlarm],
            Width = 24,
        }));
    }

    public Alarm ErrorsAlarm { get; }

    public Alarm LatencyAlarm { get; }

    public Alarm ThrottlesAlarm { get; }

    public IAlarm[] All => [ErrorsAlarm, LatencyAlarm, ThrottlesAlarm];
}
