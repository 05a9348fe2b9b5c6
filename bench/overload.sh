#!/usr/bin/env bash
# No lockout, measured: a normal client's latency alone and while 1,500 idle sockets and 200 slow-head
# connections hold serve, how long idle sockets live, and 64 concurrent clients (Serverless.Bench.Driver
# --overload; what each column means is in bench/Serverless.Bench.Driver/OverloadProbe.cs). The test suite only
# checks the property (every normal request succeeds during the flood); this prints the figures as a markdown table.
#   bench/overload.sh                                  the CLI as published by bench/run.sh ($BENCH_ARTIFACTS/publish),
#                                                      published first if missing
#   bench/overload.sh TARGET...                        TARGET is PUBLISHED/serverless[:ENV=VAL,...] (e.g. an older build
#                                                      to compare with); one row each, in order
# Knobs (environment): BENCH_ARTIFACTS (default /tmp/art-bench), OVERLOAD_REQUESTS (200), OVERLOAD_IDLE (1500),
# OVERLOAD_SLOW (200), OVERLOAD_CONCURRENCY (64), OVERLOAD_PER_CLIENT (20), OVERLOAD_OUT (a file to append the table to).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ART="${BENCH_ARTIFACTS:-/tmp/art-bench}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
STORE="$ROOT/.cache/store"
case "${MODEL_STORE:-}" in file://*) STORE="${MODEL_STORE#file://}" ;; esac
MODELS="${SERVERLESS_MODELS_DIR:-$ROOT/models}"
say() { printf '\033[1m[overload]\033[0m %s\n' "$*" >&2; }
[ -f "$STORE/text-direction/1/model.onnx" ] || { echo "no models in $STORE: run ./build.sh setup first" >&2; exit 1; }

TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  if [ ! -x "$ART/publish/serverless" ]; then
    say "publishing the CLI into $ART/publish"
    ARTIFACTS="$ART/publish-obj" scripts/publish-cli.sh "$ART/publish" >/dev/null
  fi
  TARGETS=("$ART/publish/serverless")
fi

say "building the driver"
dotnet build bench/Serverless.Bench.Driver -c Release --artifacts-path "$ART" -nologo -clp:ErrorsOnly -v:quiet
DRIVER="$ART/bin/Serverless.Bench.Driver/release/Serverless.Bench.Driver"

OUT="$(mktemp)"; trap 'rm -f "$OUT"' EXIT
printf '| server | normal client alone: p50 / p99 / worst ms | during the flood: p50 / p99 / worst ms | normal requests failed | flood'"'"'s idle sockets dropped after (median / last) | a lone idle socket dropped after | 64 concurrent clients: p50 / p99 / worst ms | concurrent requests failed | idle connects refused |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' > "$OUT"
for target in "${TARGETS[@]}"; do
  bin="${target%%:*}"; envs=""; [[ "$target" == *:* ]] && envs="${target#*:}"
  say "$target"
  "$DRIVER" --overload --server "$bin" --env "$envs" --label "$target" --store "$STORE" --models "$MODELS" \
    --cache-dir "$ART/overload-cache" --out "$OUT" --requests "${OVERLOAD_REQUESTS:-200}" --idle "${OVERLOAD_IDLE:-1500}" \
    --slow "${OVERLOAD_SLOW:-200}" --concurrency "${OVERLOAD_CONCURRENCY:-64}" --per-client "${OVERLOAD_PER_CLIENT:-20}" >&2
done
echo
echo "Load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
cat "$OUT"
[ -z "${OVERLOAD_OUT:-}" ] || cat "$OUT" >> "$OVERLOAD_OUT"
