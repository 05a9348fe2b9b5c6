using BenchmarkDotNet.Running;

// bench/run.sh runs: Serverless.Benchmarks --job short --inProcess --memory --artifacts DIR
// "--quick [filter]" prints median and minimum per operation instead (QuickRunner), for A/B work on a busy machine.
if (args.Length > 0 && args[0] == "--quick")
{
    Serverless.Benchmarks.QuickRunner.Run(args.Length > 1 ? args[1] : null);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Serverless.Benchmarks.Codec.RequestParseBenchmarks).Assembly).Run(args);
