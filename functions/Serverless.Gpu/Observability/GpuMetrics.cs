using System.Diagnostics;
using System.Diagnostics.Metrics;
using Serverless.Core.Inference.Batching;

namespace Serverless.Gpu.Observability;

/// <summary>
/// The server's metrics on Meter "Serverless.Gpu" (System.Diagnostics.Metrics, so any listener or the OTLP
/// exporter can read them): infer requests and failures by model and status, queue and compute time, and
/// requests per run (the batch size, which shows whether dynamic batching is paying off).
/// </summary>
public sealed class GpuMetrics : IBatchObserver, IDisposable
{
    public const string MeterName = "Serverless.Gpu";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _queueTime;
    private readonly Histogram<double> _computeTime;
    private readonly Histogram<int> _batchSize;

    public GpuMetrics()
    {
        Meter = new Meter(MeterName, "1.0.0");
        _requests = Meter.CreateCounter<long>("serverless.gpu.requests", "{request}", "Infer requests answered, by model and HTTP status.");
        _failures = Meter.CreateCounter<long>("serverless.gpu.failures", "{request}", "Infer requests answered with a 4xx or 5xx status, by model and status.");
        _rejected = Meter.CreateCounter<long>("serverless.gpu.rejected", "{request}", "Requests refused with 503 because the model's queue was full.");
        _queueTime = Meter.CreateHistogram<double>("serverless.gpu.queue_time", "ms", "Time a request waited for its batch to run.");
        _computeTime = Meter.CreateHistogram<double>("serverless.gpu.compute_time", "ms", "Duration of one run of the model (joined or not).");
        _batchSize = Meter.CreateHistogram<int>("serverless.gpu.batch_size", "{request}", "Requests served by one run.");
    }

    /// <summary>This server's meter; tests listen to this instance only, since parallel servers share the name.</summary>
    public Meter Meter { get; }

    public void RecordRequest(string model, int status)
    {
        var tags = new TagList { { "model", model }, { "http.response.status_code", status } };
        _requests.Add(1, tags);
        if (status >= 400)
        {
            _failures.Add(1, tags);
        }
    }

    public void RequestStarted(string model, TimeSpan queueTime) =>
        _queueTime.Record(queueTime.TotalMilliseconds, new KeyValuePair<string, object?>("model", model));

    public void RunCompleted(string model, int requests, long rows, TimeSpan computeTime, bool failed)
    {
        var tag = new KeyValuePair<string, object?>("model", model);
        _computeTime.Record(computeTime.TotalMilliseconds, tag);
        _batchSize.Record(requests, tag);
    }

    public void RequestRejected(string model) => _rejected.Add(1, new KeyValuePair<string, object?>("model", model));

    public void Dispose() => Meter.Dispose();
}
