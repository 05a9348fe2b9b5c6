using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Serverless.Core.Observability;

/// <summary>
/// The one place where integrity checks report what they caught: a cached artifact, a download, an optimized
/// graph or a created session that failed its check, a re-download, and the orphaned temporary files removed
/// at start. Each event is logged (source-generated, stable event ids) through the host's logger and counted
/// on Meter <see cref="MeterName"/> (any <see cref="MeterListener"/> or the OTLP exporter reads it), with the
/// totals also readable through <see cref="Snapshot"/> for stats endpoints.
/// </summary>
public sealed partial class IntegrityEvents : IDisposable
{
    public const string MeterName = "Serverless.Integrity";

    private readonly ILogger _logger;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _redownloads;
    private readonly Counter<long> _orphans;
    private long _failureCount;
    private long _redownloadCount;
    private long _orphanCount;

    public IntegrityEvents(ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        Meter = new Meter(MeterName, "1.0.0");
        _failures = Meter.CreateCounter<long>("serverless.integrity.failures", "{check}", "Integrity checks that failed, by model and check (cached-artifact, download, optimized-graph, session).");
        _redownloads = Meter.CreateCounter<long>("serverless.integrity.redownloads", "{download}", "Artifacts downloaded again after a cached copy or its session failed a check.");
        _orphans = Meter.CreateCounter<long>("serverless.integrity.orphans_removed", "{file}", "Temporary files left by an interrupted download or save, removed at start.");
    }

    /// <summary>This instance's meter; tests listen to it alone, since parallel hosts share the name.</summary>
    public Meter Meter { get; }

    /// <summary>Totals since this instance was created.</summary>
    public IntegritySnapshot Snapshot() => new(
        Interlocked.Read(ref _failureCount), Interlocked.Read(ref _redownloadCount), Interlocked.Read(ref _orphanCount));

    /// <summary>A cached artifact's bytes no longer match its manifest; it is deleted and downloaded again.</summary>
    public void CachedArtifactRejected(string model, string version, string path, string reason)
    {
        Count(model, "cached-artifact");
        LogCachedArtifactRejected(_logger, model, version, path, reason);
    }

    /// <summary>The bytes the store served do not match the manifest; nothing was cached.</summary>
    public void DownloadRejected(string model, string version, string source, string reason)
    {
        Count(model, "download");
        LogDownloadRejected(_logger, model, version, source, reason);
    }

    /// <summary>A saved optimized graph failed its checksum, its source binding or the model's contract; it is deleted and rebuilt.</summary>
    public void OptimizedGraphRejected(string model, string path, string reason)
    {
        Count(model, "optimized-graph");
        LogGraphRejected(_logger, model, path, reason);
    }

    /// <summary>A verified artifact gave no usable session (ONNX Runtime refused it, or its tensors contradict the manifest).</summary>
    public void SessionRejected(string model, string version, string path, string reason)
    {
        Count(model, "session");
        LogSessionRejected(_logger, model, version, path, reason);
    }

    /// <summary>An artifact is downloaded again after its cached copy was evicted.</summary>
    public void Redownloading(string model, string version)
    {
        Interlocked.Increment(ref _redownloadCount);
        _redownloads.Add(1, new KeyValuePair<string, object?>("model", model));
        LogRedownloading(_logger, model, version);
    }

    /// <summary>Temporary files of interrupted downloads or graph saves were removed from the cache.</summary>
    public void OrphansRemoved(string folder, int count)
    {
        if (count == 0)
        {
            return;
        }

        Interlocked.Add(ref _orphanCount, count);
        _orphans.Add(count);
        LogOrphansRemoved(_logger, count, folder);
    }

    public void Dispose() => Meter.Dispose();

    private void Count(string model, string check)
    {
        Interlocked.Increment(ref _failureCount);
        _failures.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("check", check));
    }
}

/// <summary>Totals of <see cref="IntegrityEvents"/>: failed checks, re-downloads, orphaned temporary files removed.</summary>
public readonly record struct IntegritySnapshot(long Failures, long Redownloads, long OrphansRemoved);
