using BenchmarkDotNet.Running;

// bench/run.sh runs: Serverless.Benchmarks --job short --inProcess --memory --exporters github --artifacts DIR
BenchmarkSwitcher.FromAssembly(typeof(Serverless.Benchmarks.Codec.CodecBenchmarks).Assembly).Run(args);
