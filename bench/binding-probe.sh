#!/usr/bin/env bash
# Our ONNX Runtime binding against Microsoft.ML.OnnxRuntime's managed API, both published with Native AOT
# (bench/Serverless.Bench.BindingProbe), alternating one process per sample: Main to the first text-direction
# result, warm p50 of the request path, managed bytes allocated per request. Prints a markdown table.
#   bench/binding-probe.sh [RUNS (10)] [WARM_REQUESTS (2000)]
# BENCH_ARTIFACTS (default /tmp/art-bench) holds the build; the model comes from .cache/store (./build.sh setup).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-10}"
WARM="${2:-2000}"
ART="${BENCH_ARTIFACTS:-/tmp/art-bench}"
MODEL="$ROOT/.cache/store/text-direction/1/model.onnx"
CLANG="$(command -v clang || command -v clang-14)"
[ -f "$MODEL" ] || { echo "no $MODEL: run ./build.sh setup first" >&2; exit 1; }

dotnet publish "$ROOT/bench/Serverless.Bench.BindingProbe" -c Release -r linux-x64 -p:CppCompilerAndLinker="$CLANG" \
  --artifacts-path "$ART/probe-build" -o "$ART/probe" -nologo -clp:ErrorsOnly -v:quiet >&2
samples="$ART/probe-samples.txt"
: > "$samples"
for i in $(seq "$RUNS"); do
  for binding in ours official; do
    "$ART/probe/binding-probe" "$binding" "$MODEL" "$WARM" | tee -a "$samples" >&2
  done
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { grep "binding=$1 " "$samples" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2 | median; }
echo "| binding (Native AOT, linux-x64) | Main to first result, ms | warm p50, us | allocated per request, bytes |"
echo "| --- | --- | --- | --- |"
for binding in ours official; do
  echo "| $binding | $(field "$binding" first_result_ms) | $(field "$binding" warm_p50_us) | $(field "$binding" alloc_bytes_per_request) |"
done
echo
echo "Medians of $RUNS alternating processes each, $WARM warm requests per process, text-direction [1,3,48,192], one intra-op thread."
