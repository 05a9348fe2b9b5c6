using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Serverless.Lambda.Emulator;

namespace Serverless.Bench.Lambda;

/// <summary>Everything one run of the lane measured.</summary>
internal sealed record LaneResults(DateTime StartedUtc, DateTime EndedUtc, IReadOnlyList<ColdStartSample> OursCold, IReadOnlyList<ColdStartSample> NodeCold,
    IReadOnlyList<double> OursWarmMs, IReadOnlyList<double> NodeWarmMs, double RawRunMs, IReadOnlyList<(string Name, long Bytes)> Zips);

/// <summary>Writes the lane's dated markdown: targets with the measured ratios, then each table.</summary>
internal static class LaneReport
{
    private const long X86ZipTarget = 20L * 1024 * 1024;

    public static string Write(LaneResults r, LaneOptions options)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        string F(double v, string format = "F0") => v.ToString(format, CultureInfo.InvariantCulture);

        var oursCold = Median(r.OursCold.Select(s => s.Total.TotalMilliseconds));
        var nodeCold = Median(r.NodeCold.Select(s => s.Total.TotalMilliseconds));
        var oursRss = Median(r.OursCold.Select(s => (s.PeakResidentBytes ?? 0) / 1048576.0));
        var nodeRss = Median(r.NodeCold.Select(s => (s.PeakResidentBytes ?? 0) / 1048576.0));
        var oursWarm = Median(r.OursWarmMs);
        var nodeWarm = Median(r.NodeWarmMs);
        var oursOverhead = oursWarm - r.RawRunMs;
        var nodeOverhead = nodeWarm - r.RawRunMs;
        var x86Zip = r.Zips.FirstOrDefault(z => z.Name == "bootstrap-x86_64.zip").Bytes;

        Line($"# Lambda lane, {r.StartedUtc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
        Line();
        Line($"Written by bench/run.sh (`./build.sh bench`), started {r.StartedUtc:HH:mm} UTC, {F((r.EndedUtc - r.StartedUtc).TotalMinutes, "F1")} min. " +
            "Our packaged Native AOT `bootstrap` (artifacts/lambda/x86_64) against a Node.js custom runtime over onnxruntime-node 1.30.0 " +
            "(bench/node-peer/lambda-runtime.js), both behind the loopback Runtime API emulator (functions/Serverless.Lambda.Emulator), " +
            "both loading text-direction lazily on the first event (an API Gateway HTTP API 2.0 event, JSON body [1,3,48,192]). Medians unless named otherwise.");
        Line();
        Line($"Machine: {Environment.ProcessorCount} cores as .NET sees them, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}; load average at the end {LoadAverage()}.");
        Line();
        Line("## Targets");
        Line();
        Line("| ratio | measured | target | met |");
        Line("| --- | --- | --- | --- |");
        Line($"| cold start, ours / Node (exec to first response) | {F(oursCold / nodeCold, "F2")}x | <= 0.4x | {Met(oursCold / nodeCold <= 0.4)} |");
        Line($"| peak RSS, ours / Node (VmHWM after the first response) | {F(oursRss / nodeRss, "F2")}x | <= 0.7x | {Met(oursRss / nodeRss <= 0.7)} |");
        Line($"| warm invoke overhead over raw Run, ours / Node | {F(oursOverhead / nodeOverhead, "F2")}x | <= 0.3x | {Met(oursOverhead / nodeOverhead <= 0.3)} |");
        Line($"| x86_64 zip | {F(x86Zip / 1048576.0, "F1")} MB | <= 20 MB | {Met(x86Zip > 0 && x86Zip <= X86ZipTarget)} |");
        Line();
        Line("## Cold start: exec to the first response, a fresh empty MODEL_CACHE_DIR per start");
        Line();
        Line("| runtime | starts | median ms | min ms | max ms | exec to first /next, median ms | first /next to response, median ms | median peak RSS MB |");
        Line("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, samples) in new[] { ("ours (Native AOT bootstrap)", r.OursCold), ("Node.js custom runtime", r.NodeCold) })
        {
            var totals = samples.Select(s => s.Total.TotalMilliseconds).ToList();
            Line($"| {name} | {samples.Count} | {F(Median(totals))} | {F(totals.Min())} | {F(totals.Max())} | {F(Median(samples.Select(s => s.Init.TotalMilliseconds)))} | " +
                $"{F(Median(samples.Select(s => s.FirstInvoke.TotalMilliseconds)))} | {F(Median(samples.Select(s => (s.PeakResidentBytes ?? 0) / 1048576.0)), "F1")} |");
        }

        Line();
        Line("One untimed start of each came first (page cache); the measured starts alternate. Each start gets a new emulator and an empty cache folder, so our bootstrap copies and checks the model from the store as on a new sandbox.");
        Line();
        Line("## Warm invoke: event in to response out");
        Line();
        Line("| runtime | invokes | p50 ms | p90 ms | raw Run p50 ms | overhead over raw Run, ms |");
        Line("| --- | --- | --- | --- | --- | --- |");
        Line($"| ours (Native AOT bootstrap) | {r.OursWarmMs.Count} | {F(oursWarm, "F3")} | {F(Percentile(r.OursWarmMs, 0.9), "F3")} | {F(r.RawRunMs, "F3")} | {F(oursOverhead, "F3")} |");
        Line($"| Node.js custom runtime | {r.NodeWarmMs.Count} | {F(nodeWarm, "F3")} | {F(Percentile(r.NodeWarmMs, 0.9), "F3")} | {F(r.RawRunMs, "F3")} | {F(nodeOverhead, "F3")} |");
        Line();
        Line("Both runtimes are up at once and invoked in turn. The time is the emulator's, from queuing the event (the runtime is already waiting in /next) to the posted response: " +
            "both pay the same loopback Runtime API. Raw Run is our binding's Run of the same input over reused values in the driver, with the same library and intra-op threads (processor count) as both runtimes.");
        Line();
        Line("## Packages (./build.sh package)");
        Line();
        Line("| zip | MB | of Lambda's 50 MB direct-upload limit |");
        Line("| --- | --- | --- |");
        foreach (var (name, bytes) in r.Zips)
        {
            Line($"| {name} | {F(bytes / 1048576.0, "F1")} | {F(100.0 * bytes / (50 * 1048576.0))} % |");
        }

        Line();
        Line("## Command");
        Line();
        Line($"`./build.sh bench` (bench/run.sh: `./build.sh package`, then `Serverless.Bench.Lambda --bootstrap {options.Bootstrap} --cold-runs {options.ColdRuns} --warm-invokes {options.WarmInvokes} ...`).");
        return md.ToString();
    }

    private static string Met(bool met) => met ? "yes" : "**no**";

    private static double Median(IEnumerable<double> values) => Percentile(values.ToList(), 0.5);

    private static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        if (p == 0.5 && sorted.Length % 2 == 0)
        {
            return (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }

        return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
