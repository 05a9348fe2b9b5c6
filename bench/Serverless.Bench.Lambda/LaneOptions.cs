using System.Globalization;

namespace Serverless.Bench.Lambda;

/// <summary>Command line of the Lambda lane (bench/run.sh passes every path).</summary>
internal sealed record LaneOptions(string Bootstrap, string Node, string NodeRuntime, string Store, string Models, string Packages, string Output, int ColdRuns, int WarmInvokes)
{
    public static LaneOptions Parse(string[] args)
    {
        string Get(string name, string? fallback = null)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1]
                : fallback ?? throw new ArgumentException($"missing {name}: usage: Serverless.Bench.Lambda --bootstrap artifacts/lambda/x86_64/bootstrap --node node --node-runtime bench/node-peer/lambda-runtime.js --store .cache/store --models models --packages artifacts/lambda --out FILE.md [--cold-runs 10] [--warm-invokes 300]");
        }

        return new LaneOptions(
            Path.GetFullPath(Get("--bootstrap")), Get("--node"), Path.GetFullPath(Get("--node-runtime")), Path.GetFullPath(Get("--store")),
            Path.GetFullPath(Get("--models")), Path.GetFullPath(Get("--packages")), Path.GetFullPath(Get("--out")),
            int.Parse(Get("--cold-runs", "10"), CultureInfo.InvariantCulture), int.Parse(Get("--warm-invokes", "300"), CultureInfo.InvariantCulture));
    }
}
