using System.Diagnostics;
using System.Globalization;
using System.Text;
using Serverless.Bench.Lambda;
using Serverless.Lambda.Emulator;

// See bench/README.md (Lambda lane). bench/run.sh runs it after packaging the bootstrap.
var options = LaneOptions.Parse(args);
var started = DateTime.UtcNow;
var input = RawRun.Input();
var payload = Encoding.UTF8.GetString(LambdaFrontDoor.BuildEvent("POST", "/v2/models/text-direction/infer", "",
    [new("content-type", "application/json")], Encoding.UTF8.GetBytes(RawRun.RequestJson(input)), "application/json"));

var oursEnvironment = new Dictionary<string, string?>
{
    ["MODEL_NAME"] = "text-direction",
    ["MODEL_STORE"] = "file://" + options.Store,
    ["SERVERLESS_MODELS_DIR"] = options.Models,
    ["SERVERLESS_ORT_LIBRARY"] = null, // the package's own libonnxruntime.so, as deployed
    ["MODEL_PRELOAD"] = null,          // lazy, like the Node runtime
    ["MODEL_GRAPH_CACHE"] = null,
};
var nodeEnvironment = new Dictionary<string, string?> { ["MODEL_STORE"] = "file://" + options.Store };
string[] nodeLauncher = [options.Node];

async Task<ColdStartSample> ColdAsync(bool ours)
{
    // A new sandbox: an empty cache folder every start.
    var cache = Directory.CreateTempSubdirectory("lambda-bench-cache-").FullName;
    try
    {
        var env = new Dictionary<string, string?>(ours ? oursEnvironment : nodeEnvironment) { ["MODEL_CACHE_DIR"] = cache };
        var samples = ours
            ? await ColdStartDriver.MeasureAsync(options.Bootstrap, env, payload, 1)
            : await ColdStartDriver.MeasureAsync(options.NodeRuntime, env, payload, 1, nodeLauncher);
        return samples[0];
    }
    finally
    {
        Directory.Delete(cache, recursive: true);
    }
}

Console.WriteLine($"Lambda lane: {options.ColdRuns} alternating cold starts each, then {options.WarmInvokes} warm invokes each");
await ColdAsync(ours: true); // untimed: page cache
await ColdAsync(ours: false);
var oursCold = new List<ColdStartSample>();
var nodeCold = new List<ColdStartSample>();
for (var i = 0; i < options.ColdRuns; i++)
{
    oursCold.Add(await ColdAsync(ours: true));
    nodeCold.Add(await ColdAsync(ours: false));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  #{i + 1}: ours {oursCold[^1].Total.TotalMilliseconds:F0} ms, node {nodeCold[^1].Total.TotalMilliseconds:F0} ms"));
}

var (oursWarm, nodeWarm) = await WarmInvokes.MeasureAsync(options, oursEnvironment, nodeEnvironment, nodeLauncher, payload);
var raw = RawRun.Measure(Path.Combine(options.Store, "text-direction", "1", "model.onnx"), input, options.WarmInvokes);

var report = LaneReport.Write(new LaneResults(started, DateTime.UtcNow, oursCold, nodeCold, oursWarm, nodeWarm, raw,
    ZipSizes(options.Packages)), options);
Directory.CreateDirectory(Path.GetDirectoryName(options.Output)!);
await File.WriteAllTextAsync(options.Output, report);
Console.WriteLine(report);
return 0;

static IReadOnlyList<(string Name, long Bytes)> ZipSizes(string folder) =>
    [.. Directory.EnumerateFiles(folder, "bootstrap-*.zip").Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), new FileInfo(f).Length))];
