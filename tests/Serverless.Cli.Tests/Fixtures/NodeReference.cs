using System.Diagnostics;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// Runs tests/reference/infer.js (onnxruntime-node over the same ORT 1.30.0) on a request and returns its
/// protocol JSON response: the independent answer the server's outputs are compared against.
/// </summary>
internal static class NodeReference
{
    public static string Script => Path.Combine(RepoPaths.Root, "tests", "reference", "infer.js");

    public static async Task<string> InferAsync(string modelPath, string requestJson)
    {
        var requestFile = Path.Combine(Path.GetTempPath(), $"serverless-ref-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(requestFile, requestJson);
        try
        {
            var start = new ProcessStartInfo("node")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Script);
            start.ArgumentList.Add(modelPath);
            start.ArgumentList.Add(requestFile);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"node reference failed ({process.ExitCode}): {await stderr}");
            }

            return await stdout;
        }
        finally
        {
            File.Delete(requestFile);
        }
    }
}
