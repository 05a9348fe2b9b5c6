#!/usr/bin/env bash
# The benchmark suite behind `./build.sh bench` (which exports MODEL_STORE and SERVERLESS_MODELS_DIR
# after setup). One command, one dated results file: bench/results/YYYY-MM-DD.md.
#   1. publish the CLI in the shipping configuration (scripts/publish-cli.sh)
#   2. build the driver and the BenchmarkDotNet project (Release, own artifacts path)
#   3. codec micro-benchmarks (BenchmarkDotNet, short in-process job, MemoryDiagnoser)
#   4. cold start, warm latency and raw Run for our server and the Node.js peer (the driver), report
# Knobs (environment): BENCH_ARTIFACTS (default /tmp/art-bench), BENCH_COLD_RUNS (10),
# BENCH_DIRECTION_REQUESTS (500), BENCH_DETECTION_REQUESTS (40), BENCH_OUT (the dated file).
# For a quick, partial run (the default is the full suite): BENCH_SKIP_BDN=1 skips the micro-benchmarks,
# BENCH_ONLY=cold|warm runs only that part of the driver, BENCH_SKIP_PUBLISH=1 reuses $BENCH_ARTIFACTS/publish,
# BENCH_CLIENT=httpclient times the warm requests with HttpClient instead of the raw socket client,
# BENCH_OURS_ENV="NAME=VALUE ..." adds environment to our server (A/B of runtime settings; shown in the results),
# BENCH_ONLY=lambda runs only the Lambda lane (cold start, warm invoke, peak RSS, zip sizes against a Node.js custom runtime),
# BENCH_SKIP_LAMBDA=1 leaves it out, BENCH_LAMBDA_INVOKES (300) sets its warm invokes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ART="${BENCH_ARTIFACTS:-/tmp/art-bench}"
OUT="${BENCH_OUT:-$ROOT/bench/results/$(date -u +%F).md}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
STORE="$ROOT/.cache/store"
case "${MODEL_STORE:-}" in file://*) STORE="${MODEL_STORE#file://}" ;; esac
MODELS="${SERVERLESS_MODELS_DIR:-$ROOT/models}"

say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
[ -f "$STORE/text-direction/1/model.onnx" ] || { echo "no models in $STORE: run ./build.sh setup first" >&2; exit 1; }

ONLY="${BENCH_ONLY:-all}"
case "$ONLY" in all|cold|warm|lambda) ;; *) echo "BENCH_ONLY is all, cold, warm or lambda, not '$ONLY'" >&2; exit 2 ;; esac

# The Lambda lane (its own dated file, ...-lambda.md): the packaged Native AOT bootstrap against a Node.js custom
# runtime over onnxruntime-node, behind the loopback Runtime API. BENCH_ONLY=lambda runs only this; BENCH_SKIP_LAMBDA=1 skips it.
if [ "$ONLY" = lambda ] || { [ "$ONLY" = all ] && [ "${BENCH_SKIP_LAMBDA:-}" != 1 ]; }; then
  say "Lambda lane: scripts/package-lambda.sh (Native AOT, x86_64 and arm64), then Serverless.Bench.Lambda"
  bash scripts/package-lambda.sh >&2
  dotnet build bench/Serverless.Bench.Lambda -c Release --artifacts-path "$ART" -nologo -clp:ErrorsOnly -v:quiet
  "$ART/bin/Serverless.Bench.Lambda/release/Serverless.Bench.Lambda" --bootstrap "$ROOT/artifacts/lambda/x86_64/bootstrap" \
    --node "$(command -v node)" --node-runtime "$ROOT/bench/node-peer/lambda-runtime.js" --store "$STORE" --models "$MODELS" \
    --packages "$ROOT/artifacts/lambda" --out "${OUT%.md}-lambda.md" \
    --cold-runs "${BENCH_COLD_RUNS:-10}" --warm-invokes "${BENCH_LAMBDA_INVOKES:-300}" >&2
  say "Lambda lane results: ${OUT%.md}-lambda.md"
  [ "$ONLY" = lambda ] && exit 0
fi
CLIENT="${BENCH_CLIENT:-raw}"
case "$CLIENT" in raw|httpclient) ;; *) echo "BENCH_CLIENT is raw or httpclient, not '$CLIENT'" >&2; exit 2 ;; esac

PUBLISH_CMD="dotnet publish functions/Serverless.Cli (see scripts/publish-cli.sh)"
if [ "${BENCH_SKIP_PUBLISH:-}" = 1 ]; then
  [ -x "$ART/publish/serverless" ] || { echo "BENCH_SKIP_PUBLISH=1 but $ART/publish/serverless does not exist: run once without it" >&2; exit 1; }
  say "reusing the published CLI in $ART/publish (BENCH_SKIP_PUBLISH=1; built $(date -u -r "$ART/publish/serverless" +%FT%TZ))"
  PUBLISH_CMD="$PUBLISH_CMD, reused from an earlier run (BENCH_SKIP_PUBLISH=1)"
else
  say "publishing the CLI (self-contained, ReadyToRun) into $ART/publish"
  PUBLISH_CMD="$(ARTIFACTS="$ART/publish-obj" scripts/publish-cli.sh "$ART/publish" | tail -1)"
fi

PROJECTS=(bench/Serverless.Bench.Driver)
[ "${BENCH_SKIP_BDN:-}" = 1 ] || PROJECTS+=(bench/Serverless.Benchmarks)
say "building ${PROJECTS[*]} (Release, --artifacts-path $ART)"
for project in "${PROJECTS[@]}"; do
  dotnet build "$project" -c Release --artifacts-path "$ART" -nologo -clp:ErrorsOnly -v:quiet
done
DRIVER="$ART/bin/Serverless.Bench.Driver/release/Serverless.Bench.Driver"

say "raw HTTP client self-test"
"$DRIVER" --self-test >"$ART/self-test.log" 2>&1 || { cat "$ART/self-test.log" >&2; exit 1; }

BDN_ARGS=(--job short --inProcess --memory --filter '*' --artifacts "$ART/bdn")
BDN_RESULTS=(--bdn-results "$ART/bdn/results")
BDN_COMMAND="Serverless.Benchmarks ${BDN_ARGS[*]}"
if [ "${BENCH_SKIP_BDN:-}" = 1 ]; then
  say "codec micro-benchmarks skipped (BENCH_SKIP_BDN=1)"
  BDN_RESULTS=()
  BDN_COMMAND="BENCH_SKIP_BDN=1"
else
  say "codec micro-benchmarks (BenchmarkDotNet, short job)"
  rm -rf "$ART/bdn"
  (cd "$ART" && "$ART/bin/Serverless.Benchmarks/release/Serverless.Benchmarks" "${BDN_ARGS[@]}") >"$ART/bdn.log" 2>&1 \
    || { tail -40 "$ART/bdn.log" >&2; exit 1; }
fi

say "driver: ${ONLY/all/cold start and warm latency} (warm client: $CLIENT)"
DRIVER_ARGS=(--server "$ART/publish/serverless" --node "$(command -v node)" --node-peer "$ROOT/bench/node-peer/server.js"
  --store "$STORE" --models "$MODELS" --cache-dir "$ART/model-cache" --out "$OUT"
  --cold-runs "${BENCH_COLD_RUNS:-10}" --direction-requests "${BENCH_DIRECTION_REQUESTS:-500}"
  --detection-requests "${BENCH_DETECTION_REQUESTS:-40}" --only "$ONLY" --client "$CLIENT" "${BDN_RESULTS[@]}")
[ -z "${BENCH_OURS_ENV:-}" ] || DRIVER_ARGS+=(--ours-env "$BENCH_OURS_ENV")
[ -z "${BENCH_SETTLE_MS:-}" ] || DRIVER_ARGS+=(--settle-ms "$BENCH_SETTLE_MS")
KNOBS=""
for knob in BENCH_CLIENT BENCH_COLD_RUNS BENCH_DETECTION_REQUESTS BENCH_DIRECTION_REQUESTS BENCH_ONLY BENCH_OURS_ENV BENCH_SETTLE_MS BENCH_SKIP_BDN BENCH_SKIP_PUBLISH; do
  [ -z "${!knob:-}" ] || KNOBS+="$knob=$(printf '%q' "${!knob}") "
done
"$DRIVER" "${DRIVER_ARGS[@]}" \
  --suite-command "${KNOBS}./build.sh bench" --bdn-command "$BDN_COMMAND" \
  --publish-command "$PUBLISH_CMD (libonnxruntime.so from Microsoft.ML.OnnxRuntime lands next to the executable)" \
  --trim-note "trimmed (PublishTrimmed=true, TrimMode=partial, trim warnings as errors; checked against the untrimmed build by scripts/check-trimmed-cli.sh); see bench/README.md, Trimming" \
  --driver-command "Serverless.Bench.Driver ${DRIVER_ARGS[*]}"
say "results: ${OUT#$ROOT/}"
