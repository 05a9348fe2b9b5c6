using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Azure.Tests.Fixtures;
using Serverless.Tests.Shared;
using Xunit.Abstractions;

namespace Serverless.Azure.Tests.Measurements;

/// <summary>
/// Batch throughput through the real custom handler on Azurite, with the same 10,000-line file the Lambda
/// measurement scores from s3rver (tests/Serverless.Lambda.Tests/Measurements), so the two paths compare.
/// Printed, not asserted beyond correctness; opt in with SERVERLESS_MEASURE=1.
/// </summary>
[Trait("Category", "Measure")]
public sealed class AzureBatchMeasurements(CustomHandlerFixture handler, ITestOutputHelper output) : IClassFixture<CustomHandlerFixture>
{
    [AzureMeasureFact]
    public async Task BatchThroughput_TenThousandTextDirectionLinesFromAzurite()
    {
        const int lines = 10_000;
        const string key = "incoming/text-direction/throughput.jsonl";
        var bytes = BatchThroughputFile.TextDirection(lines);
        using (var client = handler.CreateBlobClient())
        {
            await client.UploadAsync(CustomHandlerFixture.Container, key, new MemoryStream(bytes), "application/x-ndjson");
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(15) };
        var payload = Payloads.Invocation("text-direction-batch", Payloads.BlobEvent(handler.Azurite.BlobEndpoint, CustomHandlerFixture.Container, key));
        var clock = Stopwatch.StartNew();
        using var response = await http.PostAsync(new Uri(handler.BaseUri, "text-direction-batch"), new StringContent(payload, Encoding.UTF8, "application/json"));
        var elapsed = clock.Elapsed;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var doc = JsonDocument.Parse(body);
        var result = doc.RootElement.GetProperty("ReturnValue").GetProperty("files")[0];
        Assert.Equal("completed", result.GetProperty("status").GetString());
        Assert.Equal(lines, result.GetProperty("lines").GetInt64());
        Assert.Equal(0, result.GetProperty("failed").GetInt64());

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Azurite: input {bytes.Length / 1048576.0:F0} MB, {lines} lines: invocation {elapsed.TotalSeconds:F1} s, {lines / elapsed.TotalSeconds:F0} records/s end to end; handler peak RSS {PeakRssMb(handler.ProcessId):F0} MB"));
    }

    private static double PeakRssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }

        return double.NaN;
    }
}

/// <summary>A fact that runs only when SERVERLESS_MEASURE=1, so measurements stay out of the normal test run.</summary>
public sealed class AzureMeasureFactAttribute : FactAttribute
{
    public AzureMeasureFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("SERVERLESS_MEASURE") != "1")
        {
            Skip = "measurement: set SERVERLESS_MEASURE=1 to run";
        }
    }
}
