using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// Collects the largest server-vs-reference differences. With SERVERLESS_RECORD_PARITY=1 each record also
/// rewrites tests/reference/results.md, so the committed figures come from a real run, not from hand.
/// </summary>
internal static class ParityResults
{
    private static readonly ConcurrentDictionary<string, double> Results = new();
    private static readonly Lock Gate = new();

    public static void Record(string model, string output, double maxAbsDiff)
    {
        Results[$"{model}|{output}"] = maxAbsDiff;
        if (Environment.GetEnvironmentVariable("SERVERLESS_RECORD_PARITY") != "1")
        {
            return;
        }

        lock (Gate)
        {
            var text = new StringBuilder()
                .AppendLine("# Server vs reference binding: largest absolute difference per output")
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Recorded {DateTime.UtcNow:yyyy-MM-dd} by `SERVERLESS_RECORD_PARITY=1 dotnet test tests/Serverless.Cli.Tests --filter ModelParityTests`")
                .AppendLine("on a 2-core Debian 12 box. Both sides run ONNX Runtime 1.30.0 from Microsoft.ML.OnnxRuntime (our binding over")
                .AppendLine("the OrtApi table vs the package's InferenceSession) on the same seeded inputs (tests/Serverless.Cli.Tests/Fixtures/InferRequests.cs).")
                .AppendLine()
                .AppendLine("| model | output | max abs diff |")
                .AppendLine("| --- | --- | --- |");
            foreach (var (key, diff) in Results.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                var parts = key.Split('|');
                text.AppendLine(CultureInfo.InvariantCulture, $"| {parts[0]} | {parts[1]} | {diff:G9} |");
            }

            File.WriteAllText(Path.Combine(RepoPaths.Root, "tests", "reference", "results.md"), text.ToString());
        }
    }
}
