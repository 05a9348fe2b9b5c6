using System.Diagnostics;
using System.Globalization;
using Serverless.Bench.BindingProbe;

// binding-probe ours|official MODEL.onnx [WARM_REQUESTS]
// Prints one line: binding, Main-to-first-result ms, warm p50 us, managed bytes allocated per warm request.
var clock = Stopwatch.StartNew();
if (args.Length < 2 || args[0] is not ("ours" or "official"))
{
    Console.Error.WriteLine("usage: binding-probe ours|official MODEL.onnx [WARM_REQUESTS]");
    return 2;
}

var requests = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
var input = ProbeInput.TextDirection();
using IBindingProbe probe = args[0] == "ours" ? new OursProbe(args[1]) : new OfficialProbe(args[1]);
var first = probe.Request(input);
var firstMs = clock.Elapsed.TotalMilliseconds;

for (var i = 0; i < 50; i++)
{
    probe.Request(input); // warm-up: first-run allocations and caches are not the steady state
}

var times = new double[requests];
var checksum = 0f;
var before = GC.GetAllocatedBytesForCurrentThread();
for (var i = 0; i < requests; i++)
{
    var start = Stopwatch.GetTimestamp();
    checksum += probe.Request(input);
    times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
}

var allocated = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)requests;
Array.Sort(times);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"binding={args[0]} first_result_ms={firstMs:F1} warm_p50_us={times[requests / 2]:F1} warm_p90_us={times[requests * 9 / 10]:F1} alloc_bytes_per_request={allocated:F1} first_output={first:G9} checksum={checksum:G9}"));
return 0;
