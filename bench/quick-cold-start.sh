#!/usr/bin/env bash
# A quick A/B of cold start without the full suite: exec -> first 200 of a text-direction 1x3x48x192 JSON
# infer, N times, printing the median. Use it on an idle machine; ./build.sh bench is the recorded run.
#   bench/quick-cold-start.sh N ours PUBLISHED_SERVERLESS [ENV=VAL ...]   (e.g. DOTNET_TieredPGO=0)
#   bench/quick-cold-start.sh N node
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="$1"; WHO="$2"; shift 2
BIN=""; if [ "$WHO" = ours ]; then BIN="$1"; shift; fi
REQ="$(mktemp)"; trap 'rm -f "$REQ"' EXIT
node -e 'const n=3*48*192, d=Array.from({length:n},(_,i)=>((i*7)%13)/13);
  process.stdout.write(JSON.stringify({inputs:[{name:"x",shape:[1,3,48,192],datatype:"FP32",data:d}]}))' > "$REQ"
times=()
for _ in $(seq 1 "$N"); do
  port=$((19000 + RANDOM % 1000))
  start=$(date +%s%N)
  if [ "$WHO" = ours ]; then
    env "$@" MODEL_STORE="file://$ROOT/.cache/store" SERVERLESS_MODELS_DIR="$ROOT/models" "$BIN" serve --port "$port" >/dev/null 2>&1 &
  else
    node "$ROOT/bench/node-peer/server.js" --port "$port" >/dev/null 2>&1 &
  fi
  pid=$!
  until curl -s -o /dev/null -w "%{http_code}" -XPOST "localhost:$port/v2/models/text-direction/infer" -d @"$REQ" 2>/dev/null | grep -q 200; do sleep 0.005; done
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
printf "%s\n" "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print "median", a[int((NR+1)/2)], "ms (min", a[1], "max", a[NR] ")"}'
