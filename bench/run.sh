#!/usr/bin/env bash
# The benchmark suite behind `./build.sh bench` (which exports SERVERLESS_ORT_LIBRARY, MODEL_STORE and
# SERVERLESS_MODELS_DIR after setup). One command, one dated results file: bench/results/YYYY-MM-DD.md.
#   1. publish the CLI in the shipping configuration (scripts/publish-cli.sh)
#   2. build the driver and the BenchmarkDotNet project (Release, own artifacts path)
#   3. codec micro-benchmarks (BenchmarkDotNet, short in-process job, MemoryDiagnoser)
#   4. cold start, warm latency and raw Run for our server and the Node.js peer (the driver), report
# Knobs (environment): BENCH_ARTIFACTS (default /tmp/art-bench), BENCH_COLD_RUNS (10),
# BENCH_DIRECTION_REQUESTS (500), BENCH_DETECTION_REQUESTS (40), BENCH_OUT (the dated file).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ART="${BENCH_ARTIFACTS:-/tmp/art-bench}"
OUT="${BENCH_OUT:-$ROOT/bench/results/$(date -u +%F).md}"
export SERVERLESS_ORT_LIBRARY="${SERVERLESS_ORT_LIBRARY:-$ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
STORE="$ROOT/.cache/store"
case "${MODEL_STORE:-}" in file://*) STORE="${MODEL_STORE#file://}" ;; esac
MODELS="${SERVERLESS_MODELS_DIR:-$ROOT/models}"

say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
[ -f "$STORE/text-direction/1/model.onnx" ] || { echo "no models in $STORE: run ./build.sh setup first" >&2; exit 1; }

say "publishing the CLI (self-contained, ReadyToRun) into $ART/publish"
PUBLISH_CMD="$(ARTIFACTS="$ART/publish-obj" scripts/publish-cli.sh "$ART/publish" | tail -1)"

say "building the driver and the micro-benchmarks (Release, --artifacts-path $ART)"
for project in bench/Serverless.Bench.Driver bench/Serverless.Benchmarks; do
  dotnet build "$project" -c Release --artifacts-path "$ART" -nologo -clp:ErrorsOnly -v:quiet
done

say "codec micro-benchmarks (BenchmarkDotNet, short job)"
rm -rf "$ART/bdn"
BDN_ARGS=(--job short --inProcess --memory --filter '*' --artifacts "$ART/bdn")
(cd "$ART" && "$ART/bin/Serverless.Benchmarks/release/Serverless.Benchmarks" "${BDN_ARGS[@]}") >"$ART/bdn.log" 2>&1 \
  || { tail -40 "$ART/bdn.log" >&2; exit 1; }

say "cold start and warm latency (driver)"
DRIVER_ARGS=(--server "$ART/publish/serverless" --node "$(command -v node)" --node-peer "$ROOT/bench/node-peer/server.js"
  --store "$STORE" --models "$MODELS" --cache-dir "$ART/model-cache" --out "$OUT"
  --cold-runs "${BENCH_COLD_RUNS:-10}" --direction-requests "${BENCH_DIRECTION_REQUESTS:-500}"
  --detection-requests "${BENCH_DETECTION_REQUESTS:-40}" --bdn-results "$ART/bdn/results")
"$ART/bin/Serverless.Bench.Driver/release/Serverless.Bench.Driver" "${DRIVER_ARGS[@]}" \
  --publish-command "$PUBLISH_CMD (+ cp libonnxruntime.so.1 next to the executable: scripts/publish-cli.sh)" \
  --trim-note "untrimmed: PublishTrimmed=true TrimMode=partial fails on trim-analysis warnings as errors; see bench/README.md, Trimming" \
  --driver-command "Serverless.Bench.Driver ${DRIVER_ARGS[*]}" \
  --bdn-command "Serverless.Benchmarks ${BDN_ARGS[*]}"
say "results: ${OUT#$ROOT/}"
