#!/usr/bin/env bash
# End-to-end check of a published (trimmed) `serverless` CLI against an untrimmed reference build, on loopback.
#   scripts/check-trimmed-cli.sh TRIMMED_SERVERLESS UNTRIMMED_SERVERLESS
#   (publish both with scripts/publish-cli.sh DIR and scripts/publish-cli.sh DIR --no-trim)
# Every step runs on both binaries and their outputs must be identical (paths and timings normalised); any
# difference, non-zero exit or unexpected HTTP status fails the script with the diff. Steps:
#   --help (root and every command), --version, models, infer (model name, bare .onnx path, unknown model,
#     malformed JSON, missing file, --verbose error with its stack trace);
#   serve from the local store: health, server and model metadata, JSON infer, binary infer (binary_data in and
#     out), raw-binary infer (400: the model's shape is dynamic), repository index, unknown model (404),
#     malformed JSON (400), wrong datatype (400), unknown route (404);
#   serve with MODEL_PRELOAD=* and SERVERLESS_STARTUP_TRACE=1;
#   publish to file://, to s3:// (a real s3rver) and to azblob:// (a real Azurite, dev account), again (skips),
#     to a missing bucket/container (errors), each followed by a serve from that store alone (no models folder,
#     fresh cache) whose JSON infer must equal the local one; publish on a terminal (Spectre.Console's progress
#     bar, under script(1));
#   lambda (front door + Runtime API emulator in the CLI, running the packaged bootstrap: LAMBDA_BOOTSTRAP,
#     default artifacts/lambda/publish/bootstrap), infer, metadata, another model (404), missing bootstrap.
# It also checks, in every serve and lambda process of both builds, that none of ASP.NET's MVC, Razor,
# Components, SignalR or JSInterop assemblies is loaded: the trimmed build drops them (Serverless.Cli.csproj),
# and an untrimmed process that never maps them shows no path we run needs them.
# CHECK_KEEP=1 keeps the work folder (all outputs) for inspection. SERVERLESS_ORT_LIBRARY is unset: the
# published binaries must find libonnxruntime.so.1 next to themselves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRIMMED="$(realpath "${1:?usage: scripts/check-trimmed-cli.sh TRIMMED_SERVERLESS UNTRIMMED_SERVERLESS}")"
UNTRIMMED="$(realpath "${2:?usage: scripts/check-trimmed-cli.sh TRIMMED_SERVERLESS UNTRIMMED_SERVERLESS}")"
BOOTSTRAP="$(realpath "${LAMBDA_BOOTSTRAP:-$ROOT/artifacts/lambda/publish/bootstrap}")"
unset SERVERLESS_ORT_LIBRARY MODEL_STORE SERVERLESS_MODELS_DIR MODEL_PRELOAD MODEL_NAME AzureWebJobsStorage \
  AWS_ENDPOINT_URL_S3 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export DOTNET_CLI_TELEMETRY_OPTOUT=1
for f in "$TRIMMED" "$UNTRIMMED" "$BOOTSTRAP"; do
  [ -x "$f" ] || { echo "FAIL: $f is not an executable (run scripts/publish-cli.sh / ./build.sh package)" >&2; exit 1; }
done

W="$(mktemp -d /tmp/check-trimmed-cli.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  set +e
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [ -n "${CHECK_KEEP:-}" ]; then echo "outputs kept in $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
STORE="file://$ROOT/.cache/store"
PASSED=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { # wait_port PORT PID SECONDS
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    kill -0 "$2" 2>/dev/null || return 1
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.05
  done
  return 1
}
# same NAME FILE_T FILE_U: the two builds' outputs must be byte-identical.
same() {
  if ! cmp -s "$2" "$3"; then
    echo "FAIL: $1: trimmed and untrimmed outputs differ" >&2
    diff <(head -c 4000 "$3") <(head -c 4000 "$2") | head -40 >&2 || true
    exit 1
  fi
  ok "$1 (identical on both builds)"
}
# norm: strip what legitimately differs between the two runs (the build's folder, the work folder, timings,
# the commit in --version when the two builds were made at different commits).
norm() { sed -e "s#$W/[TU]#<W>#g" -e "s#check-[TU]#check-<B>#g" -e "s#$(dirname "$TRIMMED")#<BIN>#g" -e "s#$(dirname "$UNTRIMMED")#<BIN>#g" \
  -e 's/[0-9.]\+ \?ms/<ms>/g' -e 's/^\([0-9.]*\)+[0-9a-f]\{40\}$/\1+<commit>/' -e 's/http:\/\/127\.0\.0\.1:[0-9]\+/http:\/\/127.0.0.1:<port>/g'; }

# run_both NAME EXPECTED_EXIT -- ARGS...: runs `serverless ARGS` on both builds (in $W/T and $W/U), compares
# stdout+stderr and the exit code. {W} in ARGS becomes the build's own work folder, {B} the build's letter.
run_both() {
  local name="$1" expected="$2" b dir rc; shift 3
  for b in T U; do
    dir="$W/$b"; mkdir -p "$dir"
    local bin="$TRIMMED"; [ "$b" = U ] && bin="$UNTRIMMED"
    local args=("${@//\{W\}/$dir}")
    args=("${args[@]//\{B\}/$b}")
    set +e
    (cd "$dir" && "$bin" "${args[@]}") >"$W/$b.out" 2>"$W/$b.err"
    rc=$?
    set -e
    [ "$rc" = "$expected" ] || { cat "$W/$b.out" "$W/$b.err" >&2; fail "$name: exit $rc on the $b build, expected $expected"; }
    { cat "$W/$b.out"; echo "--- stderr"; cat "$W/$b.err"; } | norm >"$W/$b.$name.txt"
  done
  same "$name" "$W/T.$name.txt" "$W/U.$name.txt"
}

# Assemblies the trimmed build drops (Serverless.Cli.csproj): no process of either build may load them.
UNREACHABLE='Microsoft\.AspNetCore\.(Mvc|Razor|Components|SignalR)|Microsoft\.JSInterop'
check_unreachable() { # check_unreachable PID WHAT
  local mapped
  mapped="$(grep -oE '[^/ ]+\.dll' "/proc/$1/maps" | sort -u || true)"
  [ -n "$mapped" ] || fail "$2: no assembly mapped in /proc/$1/maps (cannot check)"
  if grep -E "$UNREACHABLE" <<<"$mapped"; then fail "$2 loaded an assembly the trimmed build drops"; fi
  ok "$2: no MVC/Razor/Components/SignalR/JSInterop assembly loaded ($(wc -l <<<"$mapped") assemblies mapped)"
}

# Requests. text-direction takes x [N,3,48,192] FP32.
python3 - "$W" <<'EOF'
import json, struct, sys
w = sys.argv[1]
n = 3 * 48 * 192
data = [((i * 7) % 13) / 13 for i in range(n)]
json.dump({"inputs": [{"name": "x", "shape": [1, 3, 48, 192], "datatype": "FP32", "data": data}]}, open(f"{w}/req.json", "w"))
raw = struct.pack(f"<{n}f", *data)
header = json.dumps({"inputs": [{"name": "x", "shape": [1, 3, 48, 192], "datatype": "FP32",
                                  "parameters": {"binary_data_size": len(raw)}}],
                     "outputs": [{"name": "softmax_0.tmp_0", "parameters": {"binary_data": True}}]}).encode()
open(f"{w}/req.bin", "wb").write(header + raw)
open(f"{w}/req.bin.hlen", "w").write(str(len(header)))
open(f"{w}/req.raw", "wb").write(raw)
json.dump({"inputs": [{"name": "x", "shape": [1, 3, 48, 192], "datatype": "INT32", "data": [1] * n}]}, open(f"{w}/req-int.json", "w"))
open(f"{w}/req-bad.json", "w").write('{"inputs": [{"name": "x", "shape": [1, 3')
EOF
mkdir -p "$W/models/text-direction"
cp "$ROOT/models/text-direction/model.json" "$W/models/text-direction/"
cp "$ROOT/.cache/store/text-direction/1/model.onnx" "$W/text-direction.onnx"
LOCAL=(--store "$STORE" --models "$ROOT/models")

echo "== help, version, models, infer"
run_both help 0 -- --help
for c in serve infer models publish lambda; do run_both "help-$c" 0 -- "$c" --help; done
run_both version 0 -- --version
run_both unknown-command 1 -- frobnicate
run_both models 0 -- models "${LOCAL[@]}"
run_both infer-json 0 -- infer --model text-direction --input "$W/req.json" "${LOCAL[@]}"
grep -q '"softmax_0.tmp_0"' "$W/T.infer-json.txt" || fail "infer-json: no output tensor in $(head -c 300 "$W/T.infer-json.txt")"
run_both infer-onnx-path 0 -- infer --model "$W/text-direction.onnx" --input "$W/req.json"
run_both infer-to-file 0 -- infer --model text-direction --input "$W/req.json" --output "{W}/response.json" "${LOCAL[@]}"
same infer-file-body "$W/T/response.json" "$W/U/response.json"
run_both infer-unknown-model 2 -- infer --model no-such-model --input "$W/req.json" "${LOCAL[@]}"
run_both infer-bad-json 2 -- infer --model text-direction --input "$W/req-bad.json" "${LOCAL[@]}"
run_both infer-missing-file 2 -- infer --model text-direction --input "$W/nope.json" "${LOCAL[@]}"
run_both verbose-error 2 -- --verbose infer --model text-direction --input "$W/nope.json" "${LOCAL[@]}"
grep -q 'at Serverless.Cli.Commands.InferCommand' "$W/T.verbose-error.txt" || fail "verbose-error: no stack trace: $(cat "$W/T.verbose-error.txt")"

# serve_start BUILD ENV... -> sets SERVE_PID, SERVE_PORT (serve runs in $W/BUILD, log in $W/BUILD.serve.log)
serve_start() {
  local b="$1" bin="$TRIMMED"; shift
  [ "$b" = U ] && bin="$UNTRIMMED"
  SERVE_PORT="$(free_port)"
  mkdir -p "$W/$b"
  (cd "$W/$b" && exec env "$@" "$bin" serve --port "$SERVE_PORT") >"$W/$b.serve.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  wait_port "$SERVE_PORT" "$SERVE_PID" 30 || { cat "$W/$b.serve.log" >&2; fail "serve ($b) did not listen on $SERVE_PORT"; }
}
serve_stop() {
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
}
# http NAME EXPECTED_STATUS CURL_ARGS...: one request to the serve of the current build, status + headers
# that matter + body kept in $W/$b.NAME.http for comparison.
http() {
  local name="$1" expected="$2"; shift 2
  local status
  status="$(curl -s -o "$W/$b.$name.body" -D "$W/$b.$name.headers" -w '%{http_code}' "$@")"
  [ "$status" = "$expected" ] || { head -c 500 "$W/$b.$name.body" >&2; echo >&2; fail "$name ($b): HTTP $status, expected $expected"; }
  { echo "HTTP $status"; grep -i -E '^(content-type|inference-header-content-length):' "$W/$b.$name.headers" | tr -d '\r' | sort; cat "$W/$b.$name.body"; } \
    | norm >"$W/$b.$name.http"
}

echo "== serve from the local store"
for b in T U; do
  serve_start "$b" MODEL_STORE="$STORE" SERVERLESS_MODELS_DIR="$ROOT/models" MODEL_CACHE_DIR="$W/$b/cache-local"
  base="http://127.0.0.1:$SERVE_PORT"
  http live 200 "$base/v2/health/live"
  http server-metadata 200 "$base/v2"
  http metadata 200 "$base/v2/models/text-direction"
  http version-metadata 200 "$base/v2/models/text-direction/versions/1"
  http infer-json 200 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req.json" "$base/v2/models/text-direction/infer"
  http ready 200 "$base/v2/models/text-direction/ready"
  http infer-binary 200 -X POST -H 'Content-Type: application/octet-stream' \
    -H "Inference-Header-Content-Length: $(cat "$W/req.bin.hlen")" --data-binary @"$W/req.bin" "$base/v2/models/text-direction/infer"
  # text-direction's input is [-1,3,-1,-1]: a raw binary body cannot carry its shape, so 400 naming why.
  http infer-raw 400 -X POST -H 'Content-Type: application/octet-stream' -H 'Inference-Header-Content-Length: 0' \
    --data-binary @"$W/req.raw" "$base/v2/models/text-direction/infer"
  http repository-index 200 -X POST "$base/v2/repository/index"
  http unknown-model 404 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req.json" "$base/v2/models/no-such-model/infer"
  http malformed-json 400 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req-bad.json" "$base/v2/models/text-direction/infer"
  http wrong-datatype 400 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req-int.json" "$base/v2/models/text-direction/infer"
  http unknown-route 404 "$base/v2/nowhere"
  check_unreachable "$SERVE_PID" "serve ($b)"
  serve_stop
done
echo "== serve with MODEL_PRELOAD=* and the start-up trace"
for b in T U; do
  serve_start "$b" MODEL_STORE="$STORE" SERVERLESS_MODELS_DIR="$W/models" MODEL_CACHE_DIR="$W/$b/cache-preload" \
    MODEL_PRELOAD='*' SERVERLESS_STARTUP_TRACE=1
  for ((i = 0; i < 400; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SERVE_PORT/v2/health/ready")" = 200 ] && break
    sleep 0.05
  done
  http preload-ready 200 "http://127.0.0.1:$SERVE_PORT/v2/health/ready"
  http preload-infer 200 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req.json" "http://127.0.0.1:$SERVE_PORT/v2/models/text-direction/infer"
  grep -q '^startup: .*main entered' "$W/$b.serve.log" || { cat "$W/$b.serve.log" >&2; fail "preload ($b): no start-up trace"; }
  serve_stop
done
same preload-infer "$W/T.preload-infer.http" "$W/U.preload-infer.http"

for name in live server-metadata metadata version-metadata infer-json ready infer-binary infer-raw repository-index unknown-model malformed-json wrong-datatype unknown-route; do
  same "serve-$name" "$W/T.$name.http" "$W/U.$name.http"
done
grep -q -i 'inference-header-content-length' "$W/T.infer-binary.http" || fail "infer-binary: the response is not binary: $(head -c 300 "$W/T.infer-binary.http")"
# The in-process infer and the served infer agree (same handler).
cmp -s "$W/T.infer-json.body" "$W/T/response.json" || fail "serve's JSON infer differs from the infer command's"
ok "serve's JSON infer equals the infer command's response"
REFERENCE="$W/T/response.json"

# serve_from_store NAME STORE_URI ENV...: serves with only that store (no models folder, empty cache) on both
# builds and checks the JSON infer against the local-store response.
serve_from_store() {
  local name="$1" uri="$2"; shift 2
  for b in T U; do
    local store_uri="${uri//\{B\}/$b}"
    store_uri="${store_uri//\{W\}/$W/$b}"
    serve_start "$b" "$@" MODEL_STORE="$store_uri" MODEL_CACHE_DIR="$W/$b/cache-$name"
    http "$name-index" 200 -X POST "http://127.0.0.1:$SERVE_PORT/v2/repository/index"
    http "$name-infer" 200 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req.json" \
      "http://127.0.0.1:$SERVE_PORT/v2/models/text-direction/infer"
    cmp -s "$W/$b.$name-infer.body" "$REFERENCE" || fail "$name ($b): the infer served from $store_uri differs from the local one"
    grep -q "from store" "$W/$b.serve.log" || { cat "$W/$b.serve.log" >&2; fail "$name ($b): serve did not report its store"; }
    if [[ "$store_uri" != file://* ]]; then  # a file:// store is read in place; remote ones go through the cache
      [ -n "$(find "$W/$b/cache-$name" -name '*.onnx*' 2>/dev/null)" ] || fail "$name ($b): nothing was downloaded into the cache"
    fi
    check_unreachable "$SERVE_PID" "serve from $name ($b)"
    serve_stop
  done
  same "$name-index" "$W/T.$name-index.http" "$W/U.$name-index.http"
  ok "$name: served from the store alone, same response as the local store on both builds"
}

echo "== publish to file://, then serve from it"
run_both publish-file 0 -- publish --store "file://{W}/filestore" --source "$STORE" --models "$W/models"
[ -f "$W/T/filestore/text-direction/model.json" ] || fail "publish-file: no model.json in the file store"
cmp -s "$W/T/filestore/text-direction/1/model.onnx" "$ROOT/.cache/store/text-direction/1/model.onnx" || fail "publish-file: the artifact differs"
run_both publish-file-again 0 -- publish --store "file://{W}/filestore" --source "$STORE" --models "$W/models"
grep -q "already present" "$W/T.publish-file-again.txt" || fail "publish-file-again: nothing skipped"
run_both publish-onto-source 2 -- publish --store "$STORE" --source "$STORE" --models "$W/models"
serve_from_store file "file://{W}/filestore"

echo "== publish on a terminal (Spectre.Console progress bar)"
for b in T U; do
  bin="$TRIMMED"; [ "$b" = U ] && bin="$UNTRIMMED"
  TERM=xterm script -qec "cd '$W/$b' && '$bin' publish --store 'file://$W/$b/ttystore' --source '$STORE' --models '$W/models'" /dev/null \
    >"$W/$b.tty.log" 2>&1 || { cat "$W/$b.tty.log" >&2; fail "publish on a terminal ($b) failed"; }
  grep -q "Done: 2 object(s) uploaded" "$W/$b.tty.log" || { cat "$W/$b.tty.log" >&2; fail "publish on a terminal ($b): no summary"; }
  grep -q "100%" "$W/$b.tty.log" || { cat "$W/$b.tty.log" >&2; fail "publish on a terminal ($b): no progress bar"; }
  cmp -s "$W/$b/ttystore/text-direction/1/model.onnx" "$ROOT/.cache/store/text-direction/1/model.onnx" || fail "publish on a terminal ($b): artifact differs"
done
ok "publish on a terminal draws the progress bar and uploads (both builds)"

# publish_round KIND STORE MISSING_NAME MISSING_STORE MISSING_EXIT ENV...: publish to STORE (2 uploads), again (skips),
# to a store whose bucket/container does not exist (MISSING_EXIT on both builds), then serve from STORE alone.
publish_round() {
  local kind="$1" store="$2" missing_name="$3" missing_store="$4" missing_exit="$5"; shift 5
  run_both "publish-$kind" 0 -- publish --store "$store" --source "$STORE" --models "$W/models"
  grep -q "Done: 2 object(s) uploaded" "$W/T.publish-$kind.txt" || fail "publish-$kind: $(cat "$W/T.publish-$kind.txt")"
  run_both "publish-$kind-again" 0 -- publish --store "$store" --source "$STORE" --models "$W/models"
  grep -q "1 already present" "$W/T.publish-$kind-again.txt" || fail "publish-$kind-again: $(cat "$W/T.publish-$kind-again.txt")"
  run_both "publish-$kind-$missing_name" "$missing_exit" -- publish --store "$missing_store" --source "$STORE" --models "$W/models"
  serve_from_store "$kind" "$store" "$@"
}

echo "== publish to s3:// (s3rver), then serve from it"
S3_PORT="$(free_port)"
mkdir -p "$W/s3rver"
node "$ROOT/node_modules/s3rver/bin/s3rver.js" --directory "$W/s3rver" --address 127.0.0.1 --port "$S3_PORT" \
  --silent --configure-bucket models >"$W/s3rver.log" 2>&1 &
S3_PID=$!; PIDS+=("$S3_PID")
wait_port "$S3_PORT" "$S3_PID" 20 || { cat "$W/s3rver.log" >&2; fail "s3rver did not start"; }
S3_ENV=(AWS_ENDPOINT_URL_S3="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1)
export "${S3_ENV[@]}"
publish_round s3 "s3://models/check-{B}" no-bucket "s3://no-such-bucket/x" 1 "${S3_ENV[@]}"
unset AWS_ENDPOINT_URL_S3 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION

echo "== publish to azblob:// (Azurite), then serve from it"
AZ_PORT="$(free_port)"
mkdir -p "$W/azurite"
node "$ROOT/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --location "$W/azurite" \
  --silent --disableTelemetry >"$W/azurite.log" 2>&1 &
AZ_PID=$!; PIDS+=("$AZ_PID")
wait_port "$AZ_PORT" "$AZ_PID" 30 || { cat "$W/azurite.log" >&2; fail "Azurite did not start"; }
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
# Create the container (publish writes blobs; it does not create containers), Shared Key signed.
python3 - "$AZ_PORT" "$AZ_KEY" <<'EOF'
import base64, hashlib, hmac, sys, urllib.request, email.utils
port, key = sys.argv[1], sys.argv[2]
date, version = email.utils.formatdate(usegmt=True), "2021-08-06"
sts = "PUT\n" + "\n" * 11 + f"x-ms-date:{date}\nx-ms-version:{version}\n/devstoreaccount1/devstoreaccount1/models\nrestype:container"
sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(f"http://127.0.0.1:{port}/devstoreaccount1/models?restype=container", method="PUT",
                             headers={"x-ms-date": date, "x-ms-version": version, "Authorization": f"SharedKey devstoreaccount1:{sig}"})
assert urllib.request.urlopen(req).status == 201
EOF
AZ_ENV=(AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZ_KEY;BlobEndpoint=http://127.0.0.1:$AZ_PORT/devstoreaccount1/")
export "${AZ_ENV[@]}"
publish_round azblob "azblob://models/check-{B}" no-container "azblob://no-such-container/x" 2 "${AZ_ENV[@]}"
unset AzureWebJobsStorage

echo "== lambda (front door + Runtime API emulator, running $BOOTSTRAP)"
for b in T U; do
  bin="$TRIMMED"; [ "$b" = U ] && bin="$UNTRIMMED"
  port="$(free_port)"
  (cd "$W/$b" && exec "$bin" lambda --model text-direction --port "$port" --bootstrap "$BOOTSTRAP" --store "$STORE" --models "$ROOT/models") \
    >"$W/$b.lambda.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_port "$port" "$pid" 30 || { cat "$W/$b.lambda.log" >&2; fail "lambda ($b) did not listen on $port"; }
  http lambda-infer 200 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req.json" "http://127.0.0.1:$port/v2/models/text-direction/infer"
  cmp -s "$W/$b.lambda-infer.body" "$REFERENCE" || fail "lambda ($b): the infer differs from the local one"
  http lambda-metadata 200 "http://127.0.0.1:$port/v2/models/text-direction"
  http lambda-other-model 404 -X POST -H 'Content-Type: application/json' --data-binary @"$W/req.json" "http://127.0.0.1:$port/v2/models/text-detection/infer"
  check_unreachable "$pid" "lambda ($b)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
for name in lambda-infer lambda-metadata lambda-other-model; do same "$name" "$W/T.$name.http" "$W/U.$name.http"; done
run_both lambda-no-bootstrap 2 -- lambda --model text-direction --bootstrap "$W/nope/bootstrap"

echo "PASS: $PASSED checks, trimmed build $TRIMMED behaves as $UNTRIMMED"
