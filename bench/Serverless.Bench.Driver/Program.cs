using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Serverless.Bench.Driver;

// See bench/README.md. Usage: Serverless.Bench.Driver --server PUBLISHED/serverless --node-peer bench/node-peer/server.js
//   --store .cache/store --models models --out bench/results/DATE.md [--cold-runs 10] [--direction-requests 500] ...
//   Serverless.Bench.Driver --self-test   checks the raw HTTP client against canned responses (bench/run.sh runs it first)
//   Serverless.Bench.Driver --overload --server PUBLISHED/serverless --store S --models M --cache-dir D [--out F] ...   (bench/overload.sh)
if (args is ["--self-test"])
{
    return SelfTest.Run();
}

if (args is ["--overload", .. var overloadArgs])
{
    return await OverloadProbe.RunAsync(overloadArgs);
}

var options = BenchOptions.Parse(args);
var clock = Stopwatch.StartNew();
var started = DateTime.UtcNow;
var loadAtStart = MachineInfo.LoadAverage();
var machine = MachineInfo.Read(options.Node);
Directory.CreateDirectory(options.CacheDirectory);

var oursEnvironment = new Dictionary<string, string?>
{
    ["MODEL_STORE"] = "file://" + options.Store,
    ["SERVERLESS_MODELS_DIR"] = options.Models,
    ["MODEL_CACHE_DIR"] = options.CacheDirectory,

    // The published folder carries libonnxruntime.so.1 itself: measure the shipping layout, not the dev override.
    ["SERVERLESS_ORT_LIBRARY"] = null,

    // The primary row is the lazy start: models load on first use, whatever the caller's environment says.
    ["MODEL_PRELOAD"] = null,

    // ... with the optimized-graph cache (the default), whatever the caller's environment says.
    ["MODEL_GRAPH_CACHE"] = null,

};
foreach (var (name, value) in options.OursEnvironment)
{
    oursEnvironment[name] = value;
}

var ours = new ServerCommand("serverless (published)", options.Server, ["serve", "--port", "{port}"], oursEnvironment);

// The optimized-graph cache off: every start optimizes the graph again, as a first start on a new machine (or
// a new Lambda sandbox, whose /tmp is empty) does. The default row reuses the graph the untimed start saved.
var oursNoGraphCache = ours with
{
    Name = "serverless (published), MODEL_GRAPH_CACHE=off",
    Environment = new Dictionary<string, string?>(ours.Environment) { ["MODEL_GRAPH_CACHE"] = "off" },
};

var node = new ServerCommand("Node.js peer", options.Node, [options.NodePeer, "--port", "{port}", "--store", options.Store], new Dictionary<string, string?>());

Console.WriteLine($"load average {loadAtStart}; building payloads");
var direction = Payloads.Create("text-direction", "x", [1, 3, 48, 192], seed: 7);
var detection = Payloads.Create("text-detection", "x", [1, 3, 640, 640], seed: 11);

// Cold start: one untimed start of each first (page cache), then alternate so drift in load hits all alike.
var oursCold = new List<ColdStartSample>();
var oursNoGraphCacheCold = new List<ColdStartSample>();
var nodeCold = new List<ColdStartSample>();
var oursFloor = new List<double>();
var nodeFloor = new List<double>();
if (options.RunCold)
{
    Console.WriteLine($"cold start: {options.ColdRuns} starts each (ours lazy, ours with MODEL_GRAPH_CACHE=off, Node), alternating");
    await ColdStartProbe.MeasureAsync(ours, direction, "softmax_0.tmp_0");
    await ColdStartProbe.MeasureAsync(oursNoGraphCache, direction, "softmax_0.tmp_0");
    await ColdStartProbe.MeasureAsync(node, direction, "softmax_0.tmp_0");
    for (var i = 0; i < options.ColdRuns; i++)
    {
        oursFloor.Add(await ColdStartProbe.RuntimeFloorAsync(options.Server, "--version"));
        nodeFloor.Add(await ColdStartProbe.RuntimeFloorAsync(options.Node, "-e", ""));
        oursCold.Add(await ColdStartProbe.MeasureAsync(ours, direction, "softmax_0.tmp_0"));
        oursNoGraphCacheCold.Add(await ColdStartProbe.MeasureAsync(oursNoGraphCache, direction, "softmax_0.tmp_0"));
        nodeCold.Add(await ColdStartProbe.MeasureAsync(node, direction, "softmax_0.tmp_0"));
        Console.WriteLine($"  #{i + 1}: ours {Describe(oursCold[^1])}; ours no graph cache {Describe(oursNoGraphCacheCold[^1])}; node {Describe(nodeCold[^1])}");
    }
}

// Warm: both servers up at once (idle ones cost nothing: spinning is off in both), requests interleaved.
var warm = new List<WarmRow>();
var floors = new List<FloorRow>();
var agreement = new List<(string, double)>();
if (options.RunWarm)
{
    var oursServer = ServerProcess.Start(ours, ServerProcess.FreePort());
    var nodeServer = ServerProcess.Start(node, ServerProcess.FreePort());
    await using (oursServer)
    await using (nodeServer)
    {
        await WaitForPortAsync(oursServer);
        await WaitForPortAsync(nodeServer);
        Console.WriteLine($"warm requests through the {options.Client} client");
        using var echo = new LoopbackEcho();
        using var oursClient = KeepAliveClients.Connect(options.Client, oursServer.Port);
        using var nodeClient = KeepAliveClients.Connect(options.Client, nodeServer.Port);
        using var echoClient = KeepAliveClients.Connect(options.Client, echo.Port);
        var oursHealth = new FloorLane(ours.Name, oursClient, "/v2/health/ready");
        var nodeHealth = new FloorLane(node.Name, nodeClient, "/v2/health/ready");
        var echoHealth = new FloorLane(LoopbackEcho.Name, echoClient, "/v2/health/ready");
        await oursHealth.ValidateAsync();
        await nodeHealth.ValidateAsync();
        await echoHealth.ValidateAsync();
        foreach (var (payload, outputShape, requests, warmup) in new[]
        {
            (direction, new long[] { 1, 2 }, options.DirectionRequests, 100),
            (detection, new long[] { 1, 1, 640, 640 }, options.DetectionRequests, 3),
        })
        {
            using var raw = new RawRunner(Path.Combine(options.Store, payload.Model, payload.Version, "model.onnx"), payload, outputShape);
            var oursJson = new HttpLane(ours.Name, oursClient, payload, binary: false);
            var oursBinary = new HttpLane(ours.Name, oursClient, payload, binary: true);
            var nodeJson = new HttpLane(node.Name, nodeClient, payload, binary: false);

            // The HTTP floors ride along with the small workload, in the same iterations, so they see the same load.
            var withFloors = payload == direction;
            foreach (var lane in new[] { oursJson, oursBinary, nodeJson })
            {
                await lane.ValidateAsync();
            }

            agreement.Add(($"{payload.Model} {payload.ShapeText}", MaxAbsDiff(oursJson.FirstOutput, nodeJson.FirstOutput)));

            List<Func<Task<double>>> lanes = [];
            int Add(Func<Task<double>> lane)
            {
                lanes.Add(lane);
                return lanes.Count - 1;
            }

            var oursJsonAt = Add(oursJson.TimeAsync);
            var oursBinaryAt = Add(oursBinary.TimeAsync);
            var nodeJsonAt = Add(nodeJson.TimeAsync);
            var codecJsonAt = Add(() => Task.FromResult(raw.Codec(binary: false)));
            var codecBinaryAt = Add(() => Task.FromResult(raw.Codec(binary: true)));
            var runAt = Add(() => Task.FromResult(raw.Run()));
            var oursHealthAt = withFloors ? Add(oursHealth.TimeAsync) : -1;
            var nodeHealthAt = withFloors ? Add(nodeHealth.TimeAsync) : -1;
            var echoHealthAt = withFloors ? Add(echoHealth.TimeAsync) : -1;

            Console.WriteLine($"warm {payload.Model}: {warmup} warm-up + {requests} iterations of {lanes.Count} interleaved lanes");
            var stats = await Interleaver.RunAsync(lanes, warmup, requests, options.SettleMs);
            var workload = $"{payload.Model} {payload.ShapeText}";
            var warmBefore = warm.Count;
            warm.Add(new WarmRow(ours.Name, workload, "JSON", requests, stats[oursJsonAt], stats[codecJsonAt], stats[runAt], oursJson.RequestBytes, oursJson.ResponseBytes, oursJson.Framing));
            warm.Add(new WarmRow(ours.Name, workload, "binary", requests, stats[oursBinaryAt], stats[codecBinaryAt], stats[runAt], oursBinary.RequestBytes, oursBinary.ResponseBytes, oursBinary.Framing));
            warm.Add(new WarmRow(node.Name, workload, "JSON", requests, stats[nodeJsonAt], null, null, nodeJson.RequestBytes, nodeJson.ResponseBytes, nodeJson.Framing));
            foreach (var row in warm.Skip(warmBefore))
            {
                Console.WriteLine($"  {row.Server} {row.Format}: p50 {row.EndToEnd.Median:F3} ms p99 {row.EndToEnd.P99:F3} ms (raw Run p50 {row.RawRun?.Median:F3}, {row.Framing})");
            }

            if (withFloors)
            {
                floors.Add(new FloorRow(ours.Name, "GET " + oursHealth.Path, requests, stats[oursHealthAt], oursHealth.ResponseBytes, oursHealth.Framing));
                floors.Add(new FloorRow(node.Name, "GET " + nodeHealth.Path, requests, stats[nodeHealthAt], nodeHealth.ResponseBytes, nodeHealth.Framing));
                floors.Add(new FloorRow(LoopbackEcho.Name, "GET " + echoHealth.Path, requests, stats[echoHealthAt], echoHealth.ResponseBytes, echoHealth.Framing));
                foreach (var row in floors)
                {
                    Console.WriteLine($"  HTTP floor {row.Server} {row.Route}: p50 {row.Latency.Median:F3} ms p99 {row.Latency.P99:F3} ms ({row.Framing})");
                }
            }
        }
    }
}

var results = new BenchResults
{
    Machine = machine,
    StartedUtc = started,
    LoadAtStart = loadAtStart,
    LoadAtEnd = MachineInfo.LoadAverage(),
    OursCommand = ours.Display(8080),
    NodeCommand = node.Display(8090),
    OursNoGraphCacheCommand = oursNoGraphCache.Display(8080),
    OursName = ours.Name,
    IntraOpThreads = Serverless.Core.Inference.SessionSettings.Default.EffectiveIntraOpThreads,
    OursCold = oursCold,
    OursNoGraphCacheCold = oursNoGraphCacheCold,
    NodeCold = nodeCold,
    OursFloor = oursFloor,
    NodeFloor = nodeFloor,
    Warm = warm,
    Floors = floors,
    Client = KeepAliveClients.Describe(options.Client),
    Agreement = agreement,
    Duration = clock.Elapsed,
};
Directory.CreateDirectory(Path.GetDirectoryName(options.Output)!);
await File.WriteAllTextAsync(options.Output, ReportWriter.Write(results, options));
Console.WriteLine($"wrote {options.Output} ({clock.Elapsed.TotalSeconds:F0} s)");
return 0;

static string Describe(ColdStartSample s) =>
    $"{s.Milliseconds:F0} ms (port at {s.AcceptMilliseconds:F0}{(s.Retries > 0 ? $", {s.Retries} x 503" : "")}) {s.PeakRssKb / 1024.0:F0} MB";

static async Task WaitForPortAsync(ServerProcess server)
{
    var deadline = Stopwatch.StartNew();
    while (true)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
            return;
        }
        catch (SocketException) when (!server.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(10);
        }
    }
}

static double MaxAbsDiff(float[] a, float[] b)
{
    if (a.Length != b.Length)
    {
        return double.PositiveInfinity;
    }

    var max = 0.0;
    for (var i = 0; i < a.Length; i++)
    {
        max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
    }

    return max;
}
