#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU and the .NET SDK 10, from the repository root,
#   bash bench/gpu/run.sh
# records whether ONNX Runtime's CUDA provider is active in serverless-gpu, text-detection (fp32, 1x3x640x640)
# latency on CUDA against CPU, and dynamic-batching throughput on CUDA at concurrency 1, 4 and 16, in a dated
# markdown table (bench/results/<date>-gpu.md, and $OUT/ when that is set). A few minutes in all.
#
# It downloads nothing. What it needs, and where it looks (see bench/gpu/README.md):
#   - serverless-gpu: GPU_APP_DIR (default artifacts/gpu/app) if it holds serverless-gpu.dll, else
#     `dotnet publish` from the local NuGet cache;
#   - the ONNX Runtime GPU natives: ORT_GPU_DIR, else the app folder, else the NuGet cache's
#     microsoft.ml.onnxruntime.gpu.linux/1.30.0;
#   - the CUDA 13 and cuDNN 9 libraries: ldconfig, else CUDA_LIB_DIRS, /usr/local/cuda*/ and pip's nvidia/*/lib;
#   - the model: .cache/store/text-detection/1/model.onnx (./build.sh setup, or carried over).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

DATE="$(date -u +%F)"
RESULTS="${GPU_BENCH_OUT:-bench/results/$DATE-gpu.md}"
APP_DIR="${GPU_APP_DIR:-artifacts/gpu/app}"
LOAD_DIR="${GPU_LOAD_DIR:-artifacts/gpu/load}"
REQUESTS="${GPU_BENCH_REQUESTS:-100}"
CPU_REQUESTS="${GPU_BENCH_CPU_REQUESTS:-30}"
SHAPE="1,3,640,640"
PORT="${GPU_BENCH_PORT:-18080}"
WORK="$(mktemp -d)"
SERVER_PID=""
NOTES=()

say() { printf '[gpu-bench] %s\n' "$*" >&2; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" | head -1; }
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
trap 'stop_server; rm -rf "$WORK"' EXIT

# --- what the machine is ----------------------------------------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1; then
  say "no nvidia-smi: this check needs a machine with an NVIDIA GPU and its driver"; exit 1
fi
GPU_INFO="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
DRIVER_CUDA="$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)"
command -v curl >/dev/null 2>&1 || { say "curl is required"; exit 1; }
command -v dotnet >/dev/null 2>&1 || { say "the .NET SDK 10 is required"; exit 1; }

# --- the app and the load generator (built offline when not carried over) ----------------------------------------
if [ ! -f "$APP_DIR/serverless-gpu.dll" ]; then
  say "publishing serverless-gpu to $APP_DIR (local NuGet cache only)"
  dotnet publish functions/Serverless.Gpu/Serverless.Gpu.csproj -c Release -o "$APP_DIR" -nologo -clp:ErrorsOnly >&2 || { say "publish failed: carry a publish in GPU_APP_DIR"; exit 1; }
fi
if [ ! -f "$LOAD_DIR/gpu-load.dll" ]; then
  say "building the load generator to $LOAD_DIR"
  dotnet build bench/gpu/GpuLoad/GpuLoad.csproj -c Release -o "$LOAD_DIR" -nologo -clp:ErrorsOnly >&2 || exit 1
fi

# --- ONNX Runtime's GPU natives -----------------------------------------------------------------------------------
ORT_DIR=""
for dir in "${ORT_GPU_DIR:-}" "$APP_DIR" "$APP_DIR/runtimes/linux-x64/native" \
           "${NUGET_PACKAGES:-$HOME/.nuget/packages}/microsoft.ml.onnxruntime.gpu.linux/1.30.0/runtimes/linux-x64/native"; do
  if [ -n "$dir" ] && [ -f "$dir/libonnxruntime.so" ] && [ -f "$dir/libonnxruntime_providers_cuda.so" ]; then ORT_DIR="$(cd "$dir" && pwd)"; break; fi
done
[ -n "$ORT_DIR" ] || { say "no libonnxruntime.so with libonnxruntime_providers_cuda.so: set ORT_GPU_DIR"; exit 1; }

# --- the CUDA 13 / cuDNN 9 libraries the providers link -----------------------------------------------------------
MISSING=()
EXTRA_DIRS=()
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudnn.so.9; do
  ldconfig -p 2>/dev/null | grep -q "$lib " && continue
  found="$(find ${CUDA_LIB_DIRS:-} /usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu \
           /usr/local/lib/python3*/dist-packages/nvidia /usr/lib/python3*/dist-packages/nvidia "$HOME"/.local/lib/python3*/site-packages/nvidia \
           -name "$lib" 2>/dev/null | head -1)"
  if [ -n "$found" ]; then EXTRA_DIRS+=("$(dirname "$found")"); else MISSING+=("$lib"); fi
done
if [ ${#EXTRA_DIRS[@]} -gt 0 ]; then
  LD_EXTRA="$(printf '%s\n' "${EXTRA_DIRS[@]}" | sort -u | paste -sd:)"
  export LD_LIBRARY_PATH="$LD_EXTRA${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  NOTES+=("CUDA libraries found outside the loader's cache, added to LD_LIBRARY_PATH: $LD_EXTRA")
fi
[ ${#MISSING[@]} -eq 0 ] || NOTES+=("Missing on this machine (the CUDA run is expected to stop at start-up naming one): ${MISSING[*]}")

# --- the model ----------------------------------------------------------------------------------------------------
STORE="${MODEL_STORE_DIR:-$ROOT/.cache/store}"
[ -f "$STORE/text-detection/1/model.onnx" ] || { say "no $STORE/text-detection/1/model.onnx: run ./build.sh setup or carry .cache/store/text-detection"; exit 1; }

# fp32 (version 1) is what a GPU serves; it is made the default here so that the stats endpoint counts its runs.
mkdir -p "$WORK/models/text-detection"
sed 's/"defaultVersion": *"[0-9]*"/"defaultVersion": "1"/' models/text-detection/model.json >"$WORK/models/text-detection/model.json"

# start_server NAME ENV...: serverless-gpu on 127.0.0.1:$PORT; returns 1 (with its stderr in $WORK/NAME.err) when it exits first.
start_server() {
  local name="$1"; shift
  env MODEL_STORE="file://$STORE" SERVERLESS_MODELS_DIR="$WORK/models" MODEL_CACHE_DIR="$WORK/cache" MODEL_NAMES=text-detection \
      SERVERLESS_ORT_LIBRARY="$ORT_DIR/libonnxruntime.so" GPU_MAX_QUEUE=1024 "$@" \
      dotnet exec "$APP_DIR/serverless-gpu.dll" --urls "http://127.0.0.1:$PORT" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$PORT/v2/health/live" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID"; echo "exit code $?" >>"$WORK/$name.err"; SERVER_PID=""; return 1; }
    sleep 0.2
  done
  say "$name: not listening after 60 s"; stop_server; return 1
}

load() { dotnet exec "$LOAD_DIR/gpu-load.dll" --url "http://127.0.0.1:$PORT" --model text-detection --version 1 --input x --shape "$SHAPE" "$@"; }
stats() { curl -fs "http://127.0.0.1:$PORT/v2/models/text-detection/stats"; }

# --- CUDA ---------------------------------------------------------------------------------------------------------
CUDA_PROVIDER="(server did not start)"; CUDA_LATENCY=""; BATCH_ROWS=""
if start_server cuda GPU_REQUIRED=true; then
  CUDA_PROVIDER="$(curl -fs "http://127.0.0.1:$PORT/v2" | field execution_provider)"
  say "CUDA server up, provider $CUDA_PROVIDER; latency at concurrency 1"
  CUDA_LATENCY="$(load --requests "$REQUESTS" --warmup 10 --concurrency 1)"
  for c in 1 4 16; do
    before="$(stats)"
    result="$(load --requests $((REQUESTS > 8 * c ? REQUESTS : 8 * c)) --warmup 0 --concurrency "$c")"
    after="$(stats)"
    runs=$(( $(echo "$after" | field execution_count) - $(echo "$before" | field execution_count) ))
    reqs=$(( $(echo "$after" | field inference_count) - $(echo "$before" | field inference_count) ))
    BATCH_ROWS+="| $c | $(echo "$result" | field throughput_rps) | $(echo "$result" | field p50_ms) | $(echo "$result" | field p99_ms) | $reqs / $runs | $(echo "$after" | field largest_batch) |"$'\n'
  done
  stop_server
else
  NOTES+=("The CUDA server (GPU_REQUIRED=true) stopped at start-up: $(grep -E 'could not start|^exit code' "$WORK/cuda.err" | tr '\n' ' ')")
fi

# --- CPU, same binary, same natives ---------------------------------------------------------------------------------
CPU_LATENCY=""
if start_server cpu GPU_PREFER_CUDA=false; then
  say "CPU server up; latency at concurrency 1"
  CPU_LATENCY="$(load --requests "$CPU_REQUESTS" --warmup 3 --concurrency 1)"
  stop_server
else
  NOTES+=("The CPU server stopped at start-up: $(grep -E 'could not start|^exit code' "$WORK/cpu.err" | tr '\n' ' ')")
fi

# --- the dated table --------------------------------------------------------------------------------------------------
row() { [ -n "$2" ] && echo "| $1 | $(echo "$2" | field requests) | $(echo "$2" | field p50_ms) | $(echo "$2" | field p90_ms) | $(echo "$2" | field p99_ms) | $(echo "$2" | field mean_ms) |" || echo "| $1 | not measured | | | | |"; }
mkdir -p "$(dirname "$RESULTS")"
{
  echo "# GPU check, $DATE"
  echo
  echo "Machine: $GPU_INFO; driver's CUDA $DRIVER_CUDA; $(nproc) CPU cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)); $(dotnet --version 2>/dev/null | sed 's/^/.NET SDK /')."
  echo "ONNX Runtime: Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 natives from \`$ORT_DIR\`. Model: text-detection version 1 (fp32), input x [$SHAPE], binary tensor data."
  echo
  echo "**CUDA provider active: $([ "$CUDA_PROVIDER" = CUDAExecutionProvider ] && echo yes || echo no) ($CUDA_PROVIDER)**"
  echo
  echo "## text-detection latency, one request at a time (ms, client side, HTTP on loopback included)"
  echo
  echo "| provider | requests | p50 | p90 | p99 | mean |"
  echo "| --- | --- | --- | --- | --- | --- |"
  row "CUDA" "$CUDA_LATENCY"
  row "CPU" "$CPU_LATENCY"
  echo
  echo "## Dynamic batching on CUDA (GPU_BATCH_DELAY_MS default 2, one run at a time)"
  echo
  echo "| concurrency | throughput (req/s) | p50 ms | p99 ms | requests / runs | largest batch |"
  echo "| --- | --- | --- | --- | --- | --- |"
  printf '%s' "${BATCH_ROWS:-| not measured | | | | | |
}"
  echo
  for note in "${NOTES[@]}"; do echo "- $note"; done
  echo
  echo "Command: \`bash bench/gpu/run.sh\` (GPU_BENCH_REQUESTS=$REQUESTS, GPU_BENCH_CPU_REQUESTS=$CPU_REQUESTS)."
} >"$RESULTS"
[ -n "${OUT:-}" ] && cp "$RESULTS" "$OUT/" && cp "$WORK"/*.err "$OUT/" 2>/dev/null
cat "$RESULTS"
[ "$CUDA_PROVIDER" = CUDAExecutionProvider ]
