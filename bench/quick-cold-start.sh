#!/usr/bin/env bash
# A quick A/B of cold start without the full suite: exec -> first 200 of a text-direction 1x3x48x192 JSON
# infer, N times, printing the median. Use it on an idle machine; ./build.sh bench is the recorded run.
#   bench/quick-cold-start.sh N ours PUBLISHED_SERVERLESS [ENV=VAL ...]   (e.g. DOTNET_TieredPGO=0)
#   bench/quick-cold-start.sh N node
#   bench/quick-cold-start.sh N mix TARGET...   (interleaved: one start of each target per round, so load
#       drift on a shared machine hits every target alike; medians of wall ms, CPU ms and peak RSS per target,
#       and each target's ratio to the first). A TARGET is `node` or `ours:PUBLISHED_SERVERLESS[:ENV=VAL,...]`, e.g.
#       bench/quick-cold-start.sh 10 mix node ours:/tmp/a/serverless ours:/tmp/a/serverless:MODEL_PRELOAD=text-direction
# CPU ms is utime + stime of the server's threads at the first 200 (10 ms ticks); peak RSS is its VmHWM then.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="$1"; WHO="$2"; shift 2
REQ="$(mktemp)"; OUT="$(mktemp -d)"; trap 'rm -rf "$REQ" "$OUT"' EXIT
node -e 'const n=3*48*192, d=Array.from({length:n},(_,i)=>((i*7)%13)/13);
  process.stdout.write(JSON.stringify({inputs:[{name:"x",shape:[1,3,48,192],datatype:"FP32",data:d}]}))' > "$REQ"

# start_one TARGET -> prints "wall_ms cpu_ms peak_rss_kib"
start_one() {
  local target="$1" port pid start end bin envs=()
  port=$((19000 + RANDOM % 1000))
  start=$(date +%s%N)
  if [ "$target" = node ]; then
    node "$ROOT/bench/node-peer/server.js" --port "$port" >/dev/null 2>&1 &
  else
    bin="${target#ours:}"
    if [[ "$bin" == *:* ]]; then IFS=, read -r -a envs <<< "${bin#*:}"; bin="${bin%%:*}"; fi
    env "${envs[@]}" MODEL_STORE="file://$ROOT/.cache/store" SERVERLESS_MODELS_DIR="$ROOT/models" "$bin" serve --port "$port" >/dev/null 2>&1 &
  fi
  pid=$!
  until curl -s -o /dev/null -w "%{http_code}" -XPOST "localhost:$port/v2/models/text-direction/infer" -d @"$REQ" 2>/dev/null | grep -q 200; do sleep 0.005; done
  end=$(date +%s%N)
  local cpu rss
  cpu=$(awk '{sub(/.*\) /, ""); print ($12 + $13) * 10}' "/proc/$pid/stat")
  rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(( (end - start) / 1000000 )) $cpu $rss"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

if [ "$WHO" != mix ]; then
  if [ "$WHO" = ours ]; then
    BIN="$1"; shift
    T="ours:$BIN"; if [ $# -gt 0 ]; then T="$T:$(IFS=,; echo "$*")"; fi
  else
    T=node
  fi
  for _ in $(seq 1 "$N"); do start_one "$T" >> "$OUT/0"; done
  awk '{print $1}' "$OUT/0" | sort -n | awk '{a[NR]=$1} END {print "median", a[int((NR+1)/2)], "ms (min", a[1], "max", a[NR] ")"}'
  exit 0
fi

TARGETS=("$@")
for t in "${TARGETS[@]}"; do start_one "$t" > /dev/null; done  # page cache, untimed
for _ in $(seq 1 "$N"); do
  for i in "${!TARGETS[@]}"; do start_one "${TARGETS[$i]}" >> "$OUT/$i"; done
done
first=""
printf "%-8s %8s %8s %8s %8s %9s  %s\n" target wall_ms min max cpu_ms rss_MB "target (N=$N, interleaved)"
for i in "${!TARGETS[@]}"; do
  wall=$(awk '{print $1}' "$OUT/$i" | median)
  lo=$(awk '{print $1}' "$OUT/$i" | sort -n | head -1)
  hi=$(awk '{print $1}' "$OUT/$i" | sort -n | tail -1)
  cpu=$(awk '{print $2}' "$OUT/$i" | median)
  rss=$(awk '{print $3}' "$OUT/$i" | median)
  [ -n "$first" ] || first="$wall $cpu $rss"
  printf "%-8s %8s %8s %8s %8s %9.1f  %s\n" "#$i" "$wall" "$lo" "$hi" "$cpu" "$(echo "$rss / 1024" | bc -l)" "${TARGETS[$i]}"
done
echo "ratios to #0 (wall, cpu, rss):"
for i in "${!TARGETS[@]}"; do
  read -r w0 c0 r0 <<< "$first"
  wall=$(awk '{print $1}' "$OUT/$i" | median); cpu=$(awk '{print $2}' "$OUT/$i" | median); rss=$(awk '{print $3}' "$OUT/$i" | median)
  printf "  #%s  %.2fx  %.2fx  %.2fx\n" "$i" "$(echo "$wall / $w0" | bc -l)" "$(echo "$cpu / ($c0 + 0.0001)" | bc -l)" "$(echo "$rss / $r0" | bc -l)"
done
