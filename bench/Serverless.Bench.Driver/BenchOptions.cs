using System.Globalization;

namespace Serverless.Bench.Driver;

/// <summary>The driver's command line (bench/run.sh fills it); every figure count has a default that keeps a full run short.</summary>
internal sealed record BenchOptions
{
    public required string Server { get; init; }

    public string Node { get; init; } = "node";

    public required string NodePeer { get; init; }

    public required string Store { get; init; }

    public required string Models { get; init; }

    public required string Output { get; init; }

    public string CacheDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "serverless-bench-cache");

    public int ColdRuns { get; init; } = 10;

    public int DirectionRequests { get; init; } = 500;

    public int DetectionRequests { get; init; } = 40;

    /// <summary>The client that times the warm requests (<c>--client raw|httpclient</c>, default raw).</summary>
    public ClientKind Client { get; init; } = ClientKind.Raw;

    /// <summary>
    /// Pause before each interleaved sample (<c>--settle-ms</c>, default 0): lets the previous lane's leftovers
    /// (the other server's GC and idle threads, our log line) finish before the next sample is timed.
    /// </summary>
    public int SettleMs { get; init; }

    /// <summary>Which parts run (<c>--only all|cold|warm</c>, default all): cold start, warm latency, or both.</summary>
    public string Only { get; init; } = "all";

    public bool RunCold => Only is "all" or "cold";

    public bool RunWarm => Only is "all" or "warm";

    /// <summary>BenchmarkDotNet's results folder; every *-report-github.md in it goes into the results file.</summary>
    public string? BdnResults { get; init; }

    public string PublishCommand { get; init; } = "(not given)";

    public string BdnCommand { get; init; } = "(not given)";

    public string DriverCommand { get; init; } = "(not given)";

    public string TrimNote { get; init; } = "(not given)";

    /// <summary>
    /// Extra environment for our server in every role (<c>--ours-env "NAME=VALUE NAME=VALUE"</c>), for A/B runs of
    /// runtime settings such as DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1; the results file's commands show them.
    /// </summary>
    public IReadOnlyDictionary<string, string> OursEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>How the suite was started, with the BENCH_* knobs that were set (bench/run.sh fills it).</summary>
    public string SuiteCommand { get; init; } = "./build.sh bench";

    public static BenchOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' pairs; '{args[i]}' has no value. See bench/README.md.");
            }

            values[args[i][2..]] = args[++i];
        }

        static Dictionary<string, string> ParseEnvironment(string text)
        {
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new ArgumentException($"--ours-env takes space-separated NAME=VALUE pairs; '{pair}' is not one.");
                }

                environment[pair[..equals]] = pair[(equals + 1)..];
            }

            return environment;
        }

        string Required(string name) => values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required. See bench/README.md.");
        int Number(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        string Text(string name, string fallback) => values.TryGetValue(name, out var v) ? v : fallback;

        var defaults = new BenchOptions { Server = "", NodePeer = "", Store = "", Models = "", Output = "" };
        return new BenchOptions
        {
            Server = Path.GetFullPath(Required("server")),
            Node = Text("node", defaults.Node),
            NodePeer = Path.GetFullPath(Required("node-peer")),
            Store = Path.GetFullPath(Required("store")),
            Models = Path.GetFullPath(Required("models")),
            Output = Path.GetFullPath(Required("out")),
            CacheDirectory = Text("cache-dir", defaults.CacheDirectory),
            ColdRuns = Number("cold-runs", defaults.ColdRuns),
            DirectionRequests = Number("direction-requests", defaults.DirectionRequests),
            DetectionRequests = Number("detection-requests", defaults.DetectionRequests),
            SettleMs = Number("settle-ms", 0),
            Client = Text("client", "raw") switch
            {
                "raw" => ClientKind.Raw,
                "httpclient" => ClientKind.HttpClient,
                var other => throw new ArgumentException($"--client is raw or httpclient, not '{other}'."),
            },
            Only = Text("only", defaults.Only) switch
            {
                "all" => "all",
                "cold" => "cold",
                "warm" => "warm",
                var other => throw new ArgumentException($"--only is all, cold or warm, not '{other}'."),
            },
            BdnResults = values.GetValueOrDefault("bdn-results"),
            PublishCommand = Text("publish-command", defaults.PublishCommand),
            BdnCommand = Text("bdn-command", defaults.BdnCommand),
            DriverCommand = Text("driver-command", defaults.DriverCommand),
            TrimNote = Text("trim-note", defaults.TrimNote),
            SuiteCommand = Text("suite-command", defaults.SuiteCommand),
            OursEnvironment = ParseEnvironment(Text("ours-env", "")),
        };
    }
}
