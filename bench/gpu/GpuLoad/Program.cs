using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

// gpu-load --url http://127.0.0.1:8080 --model text-detection --version 1 --input x --shape 1,3,640,640
//          --requests 100 --warmup 10 --concurrency 4
// Prints {"requests":N,"concurrency":C,"p50_ms":...,"p90_ms":...,"p99_ms":...,"mean_ms":...,"throughput_rps":...}.
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

string Option(string name, string? fallback = null) =>
    options.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"--{name} is required.");

var url = Option("url");
var model = Option("model");
var version = Option("version", "1");
var input = Option("input", "x");
var shape = Option("shape").Split(',').Select(d => long.Parse(d, CultureInfo.InvariantCulture)).ToArray();
var requests = int.Parse(Option("requests", "100"), CultureInfo.InvariantCulture);
var warmup = int.Parse(Option("warmup", "10"), CultureInfo.InvariantCulture);
var concurrency = int.Parse(Option("concurrency", "1"), CultureInfo.InvariantCulture);

// A fixed pseudo-random image in [0, 1): the same bytes for every request and every run.
var elements = shape.Aggregate(1L, (a, b) => a * b);
var data = new byte[elements * sizeof(float)];
var random = new Random(42);
for (var i = 0; i < elements; i++)
{
    BitConverter.TryWriteBytes(data.AsSpan(i * sizeof(float)), (float)random.NextDouble());
}

var header = Encoding.UTF8.GetBytes(
    $"{{\"inputs\":[{{\"name\":\"{input}\",\"datatype\":\"FP32\",\"shape\":[{string.Join(',', shape)}],\"parameters\":{{\"binary_data_size\":{data.Length}}}}}]," +
    "\"parameters\":{\"binary_data_output\":true}}");
var body = new byte[header.Length + data.Length];
header.CopyTo(body, 0);
data.CopyTo(body, header.Length);
var path = $"{url.TrimEnd('/')}/v2/models/{model}/versions/{version}/infer";

using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
{
    Timeout = TimeSpan.FromMinutes(2),
};

async Task<double> SendAsync()
{
    using var content = new ByteArrayContent(body);
    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
    content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
    var started = Stopwatch.GetTimestamp();
    using var response = await client.PostAsync(path, content).ConfigureAwait(false);
    var bytes = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
    var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{path} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(bytes.AsSpan(0, Math.Min(bytes.Length, 500)))}");
    }

    return elapsed;
}

for (var i = 0; i < warmup; i++)
{
    await SendAsync().ConfigureAwait(false);
}

var latencies = new double[requests];
var next = -1;
var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
{
    int index;
    while ((index = Interlocked.Increment(ref next)) < requests)
    {
        latencies[index] = await SendAsync().ConfigureAwait(false);
    }
}))).ConfigureAwait(false);
var seconds = clock.Elapsed.TotalSeconds;
Array.Sort(latencies);

double Percentile(double p) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"requests\":{requests},\"concurrency\":{concurrency},\"p50_ms\":{Percentile(0.50):F2},\"p90_ms\":{Percentile(0.90):F2},\"p99_ms\":{Percentile(0.99):F2},\"mean_ms\":{latencies.Average():F2},\"throughput_rps\":{requests / seconds:F1}}}"));
