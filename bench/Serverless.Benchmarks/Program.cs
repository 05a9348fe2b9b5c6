using BenchmarkDotNet.Running;

// bench/run.sh runs: Serverless.Benchmarks --job short --inProcess --memory --artifacts DIR
BenchmarkSwitcher.FromAssembly(typeof(Serverless.Benchmarks.Codec.RequestParseBenchmarks).Assembly).Run(args);
