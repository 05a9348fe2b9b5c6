using System.Globalization;
using System.Text;

namespace Serverless.Bench.Driver;

/// <summary>
/// Writes the dated results file: machine, targets with the measured ratios, the cold-start and warm tables,
/// the agreement check, the micro-benchmark table and, for every missed target, which part of the request
/// dominates according to the same-run breakdown (raw Run, in-process codec, HTTP).
/// </summary>
internal static class ReportWriter
{
    public static string Write(BenchResults r, BenchOptions options)
    {
        var md = new StringBuilder();
        var date = r.StartedUtc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Line(md, $"# Benchmark results, {date}");
        Line(md);
        Line(md, $"Written by bench/run.sh (what `./build.sh bench` runs after setup), started {r.StartedUtc:HH:mm} UTC, driver time {r.Duration.TotalMinutes:F1} min. " +
            "Times are medians unless named otherwise. Ratios compare figures taken in the same run with the same driver; " +
            "the warm lanes were interleaved request by request, so load drift hits them alike. See bench/README.md for what each figure means.");
        Line(md);
        Line(md, $"Parts run: {(options.Only == "all" ? "all (cold start and warm latency)" : options.Only + " only (--only " + options.Only + ")")}; " +
            $"micro-benchmarks: {(options.BdnResults is null ? "skipped" : "run")}. " +
            $"Warm requests were timed with the {r.Client}.");
        Line(md);
        WriteMachine(md, r);
        WriteTargets(md, r);
        WriteColdStart(md, r);
        WriteWarm(md, r);
        WriteFloor(md, r);
        WriteBreakdown(md, r);
        WriteMicro(md, options);
        WriteCommands(md, r, options);
        return md.ToString();
    }

    private static void WriteMachine(StringBuilder md, BenchResults r)
    {
        Line(md, "## Machine");
        Line(md);
        Line(md, "| | |");
        Line(md, "| --- | --- |");
        Line(md, $"| CPU | {r.Machine.Cpu} |");
        Line(md, $"| cores (as .NET sees them) | {r.Machine.Cores} |");
        Line(md, $"| memory | {r.Machine.Memory} |");
        Line(md, $"| OS | {r.Machine.Os} |");
        Line(md, $"| .NET | {r.Machine.DotNet} |");
        Line(md, $"| Node.js | {r.Machine.Node} |");
        Line(md, "| ONNX Runtime | 1.30.0 for both (ours: Microsoft.ML.OnnxRuntime's libonnxruntime.so next to the published executable; Node peer: onnxruntime-node's libonnxruntime.so.1) |");
        Line(md, $"| ORT settings | intra-op threads = {r.IntraOpThreads} in both (ours: SessionSettings default = Environment.ProcessorCount; Node peer: --threads default = os.availableParallelism()), idle spinning off in both, graph optimization all |");
        Line(md, $"| load average (1/5/15 min) | start {r.LoadAtStart}, end {r.LoadAtEnd} (other engineers were building on this machine) |");
        Line(md);
    }

    private static void WriteTargets(StringBuilder md, BenchResults r)
    {
        Line(md, "## Targets");
        Line(md);
        Line(md, "| ratio | measured | target | met |");
        Line(md, "| --- | --- | --- | --- |");
        if (r.OursCold.Count > 0)
        {
            var oursCold = Stats.Of(r.OursCold.Select(s => s.Milliseconds).ToList());
            var nodeCold = Stats.Of(r.NodeCold.Select(s => s.Milliseconds).ToList());
            var oursRss = Stats.Of(r.OursCold.Select(s => (double)s.PeakRssKb).ToList());
            var nodeRss = Stats.Of(r.NodeCold.Select(s => (double)s.PeakRssKb).ToList());
            Target(md, "cold start, ours / Node (median exec to first 200 OK)", oursCold.Median / nodeCold.Median, 0.8, "x");
            Target(md, "(for reference) cold-start CPU time, ours / Node", Stats.Of(r.OursCold.Select(s => s.CpuMilliseconds).ToList()).Median / Stats.Of(r.NodeCold.Select(s => s.CpuMilliseconds).ToList()).Median, 0.8, "x");
            Target(md, "peak RSS, ours / Node (median VmHWM after the first response)", oursRss.Median / nodeRss.Median, 1.0, "x");
            if (r.OursNoGraphCacheCold.Count > 0)
            {
                var noGraph = Stats.Of(r.OursNoGraphCacheCold.Select(s => s.Milliseconds).ToList());
                Target(md, "(extra) cold start with MODEL_GRAPH_CACHE=off (the graph optimized at every start, as on a first start), ours / Node", noGraph.Median / nodeCold.Median, 0.8, "x");
            }
        }

        foreach (var workload in r.Warm.Select(w => w.Workload).Distinct())
        {
            var json = Find(r, workload, r.OursName, "JSON");
            var binary = Find(r, workload, r.OursName, "binary");
            var nodeJson = FindNode(r, workload);
            Target(md, $"warm p50 JSON, ours / Node, {workload}", json.EndToEnd.Median / nodeJson.EndToEnd.Median, 0.3, "x");
            Target(md, $"binary overhead over raw Run, {workload} (e2e p50 / Run p50 - 1)", (binary.EndToEnd.Median / binary.RawRun!.Value.Median) - 1, 0.05, "%");
            Target(md, $"JSON overhead over raw Run, {workload} (e2e p50 / Run p50 - 1)", (json.EndToEnd.Median / json.RawRun!.Value.Median) - 1, 0.25, "%");
        }

        Line(md);
        Line(md, "The targets are stated for text-direction 1x3x48x192 and for the default configuration (lazy start: models load on first use); " +
            "the text-detection rows and the MODEL_GRAPH_CACHE=off cold start are reported against the same thresholds for comparison.");
        if (r.OursCold.Count == 0 || r.Warm.Count == 0)
        {
            Line(md);
            Line(md, $"Only part of the targets was measured in this run (--only {(r.OursCold.Count == 0 ? "warm" : "cold")}).");
        }

        Line(md);
    }

    private static void WriteColdStart(StringBuilder md, BenchResults r)
    {
        Line(md, "## (a) Cold start: exec to the first successful text-direction infer (JSON), local store");
        Line(md);
        if (r.OursCold.Count == 0)
        {
            Line(md, "Skipped in this run (--only warm).");
            Line(md);
            return;
        }

        Line(md, "| server | starts | median ms | min ms | max ms | exec to port accepting, median ms | port accepting to 200 OK, median ms | CPU time to 200 OK, median ms | runtime floor, median ms | median peak RSS MB | max peak RSS MB |");
        Line(md, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, samples, floor) in new[]
        {
            (r.OursName, r.OursCold, r.OursFloor),
            ("serverless (published), MODEL_GRAPH_CACHE=off (extra row)", r.OursNoGraphCacheCold, r.OursFloor),
            ("Node.js peer", r.NodeCold, r.NodeFloor),
        })
        {
            if (samples.Count == 0)
            {
                continue;
            }

            var ms = Stats.Of(samples.Select(s => s.Milliseconds).ToList());
            var rss = Stats.Of(samples.Select(s => s.PeakRssKb / 1024.0).ToList());
            var accept = Stats.Of(samples.Select(s => s.AcceptMilliseconds).ToList());
            var rest = Stats.Of(samples.Select(s => s.Milliseconds - s.AcceptMilliseconds).ToList());
            var cpu = Stats.Of(samples.Select(s => s.CpuMilliseconds).ToList());
            Line(md, $"| {name} | {ms.Count} | {ms.Median:F0} | {ms.Min:F0} | {ms.Max:F0} | {accept.Median:F0} | {rest.Median:F0} | {cpu.Median:F0} | {Stats.Of(floor).Median:F0} | {rss.Median:F1} | {rss.Max:F1} |");
        }

        Line(md);
        Line(md, "Each start is a new process and a new HTTP client; the port is polled every millisecond and the first accepted connection carries the request. " +
            $"One untimed start of each came first (page cache); the measured starts alternate ours (lazy), ours (MODEL_GRAPH_CACHE=off) and Node. " +
            "CPU time is utime + stime of all the process's threads from /proc/<pid>/stat (10 ms ticks): on a loaded machine it shows the work done, where wall time also counts waiting for a core. " +
            "The runtime floor is exec to exit of `serverless --version` (ours: .NET runtime, ReadyToRun, System.CommandLine) and `node -e \"\"`; all rows of ours share it. " +
            "Both rows of ours serve through Kestrel, serve's HTTP edge.");
        Line(md);
        var retries = r.OursNoGraphCacheCold.Sum(s => s.Retries) + r.OursCold.Sum(s => s.Retries) + r.NodeCold.Sum(s => s.Retries);
        Line(md, "Every row of ours loads text-direction lazily, on the first request, with the verified local store and a model cache folder (MODEL_CACHE_DIR) that persists across the starts, as on a server that restarts. " +
            "The optimized-graph cache keeps ONNX Runtime's optimized graph there: the untimed first start saved it, so the default row creates its session from it with optimization off; " +
            "the MODEL_GRAPH_CACHE=off row optimizes the graph at every start, which is what a first start on a new machine (or a new Lambda sandbox, whose /tmp is empty) pays. " +
            "If an infer answers 503, the probe polls the model's ready route every 1 ms and sends the infer again, the clock still running; " +
            (retries == 0 ? "no start answered 503 in this run." : $"503 answers before the 200 in this run: ours (lazy) {r.OursCold.Sum(s => s.Retries)}, ours (MODEL_GRAPH_CACHE=off) {r.OursNoGraphCacheCold.Sum(s => s.Retries)}, " +
             $"Node {r.NodeCold.Sum(s => s.Retries)}."));
        Line(md);
    }

    private static void WriteWarm(StringBuilder md, BenchResults r)
    {
        Line(md, "## (b, c, d) Warm latency, sequential requests over one keep-alive connection");
        Line(md);
        if (r.Warm.Count == 0)
        {
            Line(md, "Skipped in this run (--only cold).");
            Line(md);
            return;
        }

        Line(md, "| workload | server | format | request | response | framing | N | p50 ms | p99 ms | in-process infer p50 ms | raw Run p50 ms | e2e p50 / Run p50 |");
        Line(md, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var w in r.Warm)
        {
            var inProcess = w.InProcess is { } s ? s.Median.ToString("F3", CultureInfo.InvariantCulture) : "";
            var raw = w.RawRun is { } run ? run.Median.ToString("F3", CultureInfo.InvariantCulture) : "";
            var ratio = w.RawRun is { } rr ? (w.EndToEnd.Median / rr.Median).ToString("F2", CultureInfo.InvariantCulture) + "x" : "";
            Line(md, $"| {w.Workload} | {w.Server} | {w.Format} | {Size(w.RequestBytes)} | {Size(w.ResponseBytes)} | {w.Framing} | {w.Requests} | {w.EndToEnd.Median:F3} | {w.EndToEnd.P99:F3} | {inProcess} | {raw} | {ratio} |");
        }

        Line(md);
        Line(md, "Binary rows send the tensor as binary tensor data and ask for binary outputs; the Node peer speaks JSON only, as a hand-written handler would. " +
            "\"in-process infer\" is the protocol's InferRunner (parse, Run, write) in the driver process; \"raw Run\" is OnnxSession.Run over reused, preallocated values. " +
            "Both use the server's session settings and were timed in the same iterations as the HTTP requests. " +
            $"Client: {r.Client}; a timed request runs from before the send to the last byte of the response body.");
        Line(md);
        Line(md, "Agreement of the outputs for the same input (max |ours - Node|): " +
            string.Join("; ", r.Agreement.Select(a => $"{a.Workload}: {a.MaxAbsDiff:G3}")) + ".");
        Line(md);
    }

    private static void WriteFloor(StringBuilder md, BenchResults r)
    {
        if (r.Floors.Count == 0)
        {
            return;
        }

        Line(md, "## HTTP floor: a trivial request over the same keep-alive connection");
        Line(md);
        Line(md, "| server | request | response | framing | N | p50 ms | p99 ms |");
        Line(md, "| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var f in r.Floors)
        {
            Line(md, $"| {f.Server} | {f.Route} | {Size(f.ResponseBytes)} | {f.Framing} | {f.Requests} | {f.Latency.Median:F3} | {f.Latency.P99:F3} |");
        }

        Line(md);
        Line(md, "Each server's readiness route (no model, no codec, a body of a few bytes), sent over the same connection and with the same client as its infer lanes, " +
            "in the same interleaved iterations as the text-direction requests. Its p50 is the fixed per-request cost of the HTTP stack and the loopback round trip; " +
            "the breakdown below subtracts it from the HTTP part of each of our requests, which leaves the cost that grows with the body (reading and copying it). " +
            "The loopback echo is a thread in the driver that answers every request head with the same canned 200 through blocking socket calls: " +
            "the round trip and thread wake-ups of this machine with no HTTP stack, so a server's floor minus the echo's is what its own HTTP stack costs per request.");
        Line(md);
    }

    private static void WriteBreakdown(StringBuilder md, BenchResults r)
    {
        if (r.Warm.Count == 0)
        {
            return;
        }

        var floor = r.Floors.FirstOrDefault(f => f.Server == r.OursName)?.Latency.Median;
        Line(md, "## Where the time goes (same-run Stopwatch breakdown, p50s)");
        Line(md);
        Line(md, "| workload | format | raw Run ms | codec ms (in-process - Run) | HTTP ms (e2e - in-process) | of which HTTP floor ms | HTTP beyond the floor ms | e2e ms | dominant overhead |");
        Line(md, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var w in r.Warm.Where(w => w.Server == r.OursName && w.RawRun is not null))
        {
            var run = w.RawRun!.Value.Median;
            var codec = w.InProcess!.Value.Median - run;
            var http = w.EndToEnd.Median - w.InProcess.Value.Median;
            var dominant = Math.Abs(codec) >= Math.Abs(http) ? "codec"
                : floor is not { } fixedCost ? "HTTP (HTTP stack, loopback, body copy)"
                : fixedCost >= http - fixedCost ? "HTTP, mostly the fixed per-request floor"
                : "HTTP, mostly beyond the floor (body transfer and copy)";
            var floorText = floor is { } f ? f.ToString("F3", CultureInfo.InvariantCulture) : "";
            var beyond = floor is { } g ? (http - g).ToString("F3", CultureInfo.InvariantCulture) : "";
            Line(md, $"| {w.Workload} | {w.Format} | {run:F3} | {codec:F3} | {http:F3} | {floorText} | {beyond} | {w.EndToEnd.Median:F3} | {dominant} |");
        }

        Line(md);
        Line(md, "Differences of medians, so a small negative value means \"within noise\". Rows of the default server only. " +
            "The HTTP floor is its readiness-route p50 from the table above (the same for every row). The micro-benchmarks below split the codec part further.");
        Line(md);
    }

    private static void WriteMicro(StringBuilder md, BenchOptions options)
    {
        Line(md, "## (e) Codec micro-benchmarks (BenchmarkDotNet, MemoryDiagnoser)");
        Line(md);
        if (options.BdnResults is null)
        {
            Line(md, $"Skipped in this run ({options.BdnCommand}).");
            Line(md);
            return;
        }

        var reports = options.BdnResults is { } folder && Directory.Exists(folder)
            ? Directory.GetFiles(folder, "*-report-github.md").Order(StringComparer.Ordinal).ToArray()
            : [];
        if (reports.Length == 0)
        {
            Line(md, $"(no BenchmarkDotNet report in {options.BdnResults ?? "(not given)"})");
        }

        foreach (var report in reports)
        {
            // BDN repeats the environment block in every report; the machine table above already has it.
            foreach (var line in File.ReadLines(report).SkipWhile(l => !l.StartsWith('|')))
            {
                Line(md, line);
            }

            Line(md);
        }

        Line(md, AllocationSummary(reports));
        Line(md);
    }

    private static void WriteCommands(StringBuilder md, BenchResults r, BenchOptions options)
    {
        Line(md, "## Commands");
        Line(md);
        Line(md, "```");
        Line(md, options.SuiteCommand);
        Line(md, $"# publish ({options.TrimNote})");
        Line(md, options.PublishCommand);
        Line(md, "# servers under test (the driver picks free ports)");
        Line(md, r.OursCommand);
        Line(md, r.NodeCommand);
        Line(md, "# cold start only, the extra MODEL_GRAPH_CACHE=off row");
        Line(md, r.OursNoGraphCacheCommand);
        Line(md, "# driver");
        Line(md, options.DriverCommand);
        Line(md, options.BdnResults is null ? $"# micro-benchmarks: skipped ({options.BdnCommand})" : "# micro-benchmarks");
        if (options.BdnResults is not null)
        {
            Line(md, options.BdnCommand);
        }
        Line(md, "```");
    }

    // BDN writes "-" for 0 B; anything else in the Allocated column is reported by name.
    private static string AllocationSummary(string[] reports)
    {
        var nonZero = new List<string>();
        var rows = 0;
        foreach (var report in reports)
        {
            string[]? header = null;
            foreach (var line in File.ReadLines(report).Where(l => l.StartsWith('|')))
            {
                var cells = line.Trim('|').Split('|').Select(c => c.Replace("**", "", StringComparison.Ordinal).Replace("&#39;", "'", StringComparison.Ordinal).Trim()).ToArray();
                if (header is null)
                {
                    header = cells;
                    continue;
                }

                var allocated = Array.IndexOf(header, "Allocated");
                if (allocated < 0 || cells[0].StartsWith("---", StringComparison.Ordinal) || cells[0].StartsWith(":--", StringComparison.Ordinal))
                {
                    continue;
                }

                rows++;
                if (cells[allocated] is not ("-" or "0 B"))
                {
                    nonZero.Add($"{string.Join(' ', cells.Take(allocated - 3))}: {cells[allocated]}");
                }
            }
        }

        return rows == 0 ? "No allocation figures were found in the reports."
            : nonZero.Count == 0 ? $"Allocated: 0 B per operation in all {rows} rows (BDN prints 0 B as \"-\"): parse and write reuse pooled tensors and buffers."
            : $"Allocating rows: {string.Join("; ", nonZero)}.";
    }

    private static WarmRow Find(BenchResults r, string workload, string server, string format) =>
        r.Warm.First(w => w.Workload == workload && w.Server == server && w.Format == format);

    // The Node peer has JSON rows only and no in-process columns.
    private static WarmRow FindNode(BenchResults r, string workload) =>
        r.Warm.First(w => w.Workload == workload && w.Server.StartsWith("Node", StringComparison.Ordinal) && w.Format == "JSON");

    private static void Target(StringBuilder md, string name, double value, double limit, string unit)
    {
        var measured = unit == "%" ? $"{value * 100:+0.0;-0.0}%" : $"{value:F2}x";
        var target = unit == "%" ? $"<= {limit * 100:F0}%" : $"<= {limit:F1}x";
        Line(md, $"| {name} | {measured} | {target} | {(value <= limit ? "yes" : "**no**")} |");
    }

    private static string Size(long bytes) => bytes >= 1024 * 1024
        ? $"{bytes / 1024.0 / 1024.0:F1} MB"
        : bytes >= 1024 ? $"{bytes / 1024.0:F1} KB" : $"{bytes} B";

    private static void Line(StringBuilder md, string text = "") => md.Append(text).Append('\n');
}
