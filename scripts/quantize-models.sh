#!/usr/bin/env bash
# Regenerates the int8 artifacts (version "2") of the models whose manifest lists one, byte for byte:
# deterministic calibration data (scripts/calibration/generate.sh), deterministic quantizer (fixed
# sample order, sequential float math, deterministic protobuf), then checks each artifact's SHA-256 and
# size against models/<name>/model.json. Run by setup; also usable by hand:
#   scripts/quantize-models.sh [STORE] [MODEL...]      (default store: .cache/store; default: every model with a version 2)
# Env: QUANTIZE_TOOL (path to the serverless-quantize executable), CALIBRATION_DIR (default .cache/calibration).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STORE="${1:-$ROOT/.cache/store}"; [ $# -gt 0 ] && shift
DATA="${CALIBRATION_DIR:-$ROOT/.cache/calibration}"
TOOL="${QUANTIZE_TOOL:-$ROOT/functions/Serverless.Quantization.Tool/bin/${CONFIG:-Release}/net10.0/serverless-quantize}"
export SERVERLESS_ORT_LIBRARY="${SERVERLESS_ORT_LIBRARY:-$ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1}"
say() { printf '[quantize] %s\n' "$*" >&2; }

# version2 NAME -> "sha256 size" of the int8 version in the manifest, empty when there is none.
version2() {
  node -e 'const m=require(process.argv[1]); const v=m.versions.find(v=>v.version==="2"&&v.precision==="int8"); if(v) console.log(v.sha256+" "+v.size);' "$ROOT/models/$1/model.json"
}

models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for dir in "$ROOT"/models/*/; do
    name="$(basename "$dir")"
    [ -n "$(version2 "$name")" ] && models+=("$name")
  done
fi
if [ ${#models[@]} -eq 0 ]; then
  say "no model lists an int8 version 2; nothing to do"
  exit 0
fi

[ -x "$TOOL" ] || { say "quantizer not built: $TOOL (run ./build.sh setup)"; exit 1; }
bash "$ROOT/scripts/calibration/generate.sh" "$DATA"
for name in "${models[@]}"; do
  out="$STORE/$name/2/model.onnx"
  expected="$(version2 "$name")"
  if [ -n "$expected" ] && [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1) $(stat -c %s "$out")" = "$expected" ]; then
    say "$name: int8 artifact up to date"
    continue
  fi
  say "$name: quantizing $STORE/$name/1/model.onnx"
  "$TOOL" quantize-models --store "$STORE" --calibration "$DATA/calibration" --models "$name"
  actual="$(sha256sum "$out" | cut -d' ' -f1) $(stat -c %s "$out")"
  if [ -n "$expected" ] && [ "$actual" != "$expected" ]; then
    say "$name: int8 artifact is '$actual' but models/$name/model.json pins '$expected'."
    say "The quantizer, ONNX Runtime, ImageMagick/fonts or espeak-ng output changed; re-pin after checking models/QUANTIZATION.md."
    exit 1
  fi
  say "$name: $out ($actual)"
done
