namespace Serverless.Bench.Driver;

/// <summary>One line of the warm table: a server, workload and format, with the in-process depths for our server.</summary>
internal sealed record WarmRow(string Server, string Workload, string Format, int Requests, Stats EndToEnd, Stats? InProcess, Stats? RawRun, long RequestBytes, long ResponseBytes, string Framing);

/// <summary>One server's HTTP floor: a trivial GET over the same keep-alive connection, timed with the infer lanes.</summary>
internal sealed record FloorRow(string Server, string Route, int Requests, Stats Latency, long ResponseBytes, string Framing);

/// <summary>Everything one run measured, handed to <see cref="ReportWriter"/>.</summary>
internal sealed record BenchResults
{
    public required MachineInfo Machine { get; init; }

    public required DateTime StartedUtc { get; init; }

    public required string LoadAtStart { get; init; }

    public required string LoadAtEnd { get; init; }

    public required string OursCommand { get; init; }

    public required string NodeCommand { get; init; }

    public required string OursNoGraphCacheCommand { get; init; }

    public required int IntraOpThreads { get; init; }

    public required IReadOnlyList<ColdStartSample> OursCold { get; init; }

    public required IReadOnlyList<ColdStartSample> NodeCold { get; init; }

    /// <summary>Ours started with MODEL_GRAPH_CACHE=off (an extra row: every start optimizes the graph, as a first start does).</summary>
    public required IReadOnlyList<ColdStartSample> OursNoGraphCacheCold { get; init; }

    /// <summary>The default row's server name (lazy start): the targets and the breakdown use only its rows.</summary>
    public required string OursName { get; init; }

    /// <summary>Exec to exit of `serverless --version` and `node -e ""`: the runtimes' own start.</summary>
    public required IReadOnlyList<double> OursFloor { get; init; }

    public required IReadOnlyList<double> NodeFloor { get; init; }

    public required IReadOnlyList<WarmRow> Warm { get; init; }

    public required IReadOnlyList<FloorRow> Floors { get; init; }

    /// <summary>The client that timed the warm requests, as the results file describes it.</summary>
    public required string Client { get; init; }

    /// <summary>Per workload: the largest difference between our output and the Node peer's for the same input.</summary>
    public required IReadOnlyList<(string Workload, double MaxAbsDiff)> Agreement { get; init; }

    public required TimeSpan Duration { get; init; }
}
