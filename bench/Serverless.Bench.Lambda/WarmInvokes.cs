using System.Text;
using System.Text.Json;
using Serverless.Lambda.Emulator;

namespace Serverless.Bench.Lambda;

/// <summary>
/// Warm invokes: both runtimes up at once behind their own Runtime API emulator, invoked in turn so load drift hits
/// them alike. Each figure is the emulator's time from the event being queued (the runtime is already waiting in
/// /next) to its response being posted: event in, response out.
/// </summary>
internal static class WarmInvokes
{
    private const int WarmUp = 30;

    public static async Task<(List<double> Ours, List<double> Node)> MeasureAsync(LaneOptions options, IReadOnlyDictionary<string, string?> oursEnvironment,
        IReadOnlyDictionary<string, string?> nodeEnvironment, IReadOnlyList<string> nodeLauncher, string payload)
    {
        var cache = Directory.CreateTempSubdirectory("lambda-bench-warm-").FullName;
        try
        {
            await using var oursApi = await RuntimeApiEmulator.StartAsync();
            await using var nodeApi = await RuntimeApiEmulator.StartAsync();
            await using var ours = LambdaProcess.Start(options.Bootstrap, oursApi.Endpoint, new Dictionary<string, string?>(oursEnvironment) { ["MODEL_CACHE_DIR"] = cache });
            await using var node = LambdaProcess.Start(options.NodeRuntime, nodeApi.Endpoint, nodeEnvironment, launcher: nodeLauncher);
            var body = Encoding.UTF8.GetBytes(payload);
            var oursTimes = new List<double>(options.WarmInvokes);
            var nodeTimes = new List<double>(options.WarmInvokes);
            for (var i = 0; i < WarmUp + options.WarmInvokes; i++)
            {
                var a = await InvokeAsync(oursApi, body, ours);
                var b = await InvokeAsync(nodeApi, body, node);
                if (i >= WarmUp)
                {
                    oursTimes.Add(a);
                    nodeTimes.Add(b);
                }
            }

            return (oursTimes, nodeTimes);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static async Task<double> InvokeAsync(RuntimeApiEmulator api, byte[] body, LambdaProcess process)
    {
        var result = await api.InvokeAsync(body, TimeSpan.FromMinutes(1));
        using var response = JsonDocument.Parse(result.Body);
        if (result.IsError || response.RootElement.GetProperty("statusCode").GetInt32() != 200)
        {
            throw new InvalidOperationException($"warm invoke failed: {result.BodyText}\n{string.Join('\n', process.StandardError)}");
        }

        return result.Duration.TotalMilliseconds;
    }
}
