#!/usr/bin/env bash
# Builds the int8 artifacts (version "2") pinned in models/<name>/model.json, byte for byte, from each
# model's fp32 version 1: deterministic calibration data (scripts/calibration/generate.sh, default sizes),
# deterministic quantizer (fixed sample order, sequential float math, deterministic protobuf). Each
# artifact's SHA-256 and size are checked against its model.json; on a mismatch the script says which
# input changed (calibration strings, rendered sizes, pixels, fonts: with the Debian package versions) or
# that the calibration data is identical and the quantizer or its runtime changed, and exits 1.
# Run by ./build.sh setup after the build; quick when every pinned artifact is already in place.
#   scripts/quantize-models.sh [STORE] [MODEL...]   (default store .cache/store; default: every model whose
#                                                    manifest pins an int8 version 2)
#   scripts/quantize-models.sh --record-calibration (rewrites scripts/calibration/calibration.pin after a
#                                                    deliberate change of the calibration data; re-pin too)
# Env: QUANTIZE_TOOL (the serverless-quantize executable), CALIBRATION_DIR (default .cache/calibration).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${CALIBRATION_DIR:-$ROOT/.cache/calibration}"
TOOL="${QUANTIZE_TOOL:-$ROOT/functions/Serverless.Quantization.Tool/bin/${CONFIG:-Release}/net10.0/serverless-quantize}"
PIN="$ROOT/scripts/calibration/calibration.pin"
# The tool loads the Microsoft.ML.OnnxRuntime library its build carries; named here for the messages below.
export SERVERLESS_ORT_LIBRARY="${SERVERLESS_ORT_LIBRARY:-$(dirname "$TOOL")/runtimes/linux-x64/native/libonnxruntime.so}"
say() { printf '[quantize] %s\n' "$*" >&2; }

# The Debian packages whose output the calibration data depends on (text rendering and the strings' awk; speech
# synthesis and resampling).
PACKAGES=(imagemagick-6.q16 libmagickcore-6.q16-6 libfreetype6 fonts-dejavu-core fonts-liberation fonts-freefont-ttf mawk gawk original-awk espeak-ng espeak-ng-data libespeak-ng1 sox libsox3)

# Models whose recipe reads no calibration data (functions/Serverless.Quantization.Tool/Recipes.cs, dynamic mode):
# their int8 bytes depend only on the fp32 version 1 and the quantizer.
NO_CALIBRATION=(voice-activity)
package_versions() {
  dpkg-query -W -f='${Package}=${Version} ' "${PACKAGES[@]}" 2>/dev/null || true
  printf 'awk=%s' "$(readlink -f "$(command -v awk)")"
}

# The calibration set in seven digests, one per input that shapes it: the strings (awk's srand/rand), the
# fonts (files used, in order), the rendered line sizes (font metrics), the line and page pixels, and the
# speech clips at 16 kHz (espeak-ng, sox) and 8 kHz (sox's resampling).
calibration_digests() {
  local set="$DATA/calibration"
  printf 'strings %s\n' "$(cut -f5 "$set/lines/index.tsv" | sha256sum | cut -c1-64)"
  printf 'fonts %s\n' "$(sha256sum < "$set/fonts.sha256" | cut -c1-64)"
  printf 'line-sizes %s\n' "$(cut -f1-4 "$set/lines/index.tsv" | sha256sum | cut -c1-64)"
  printf 'line-pixels %s\n' "$(cd "$set/lines" && LC_ALL=C sha256sum -- *.rgb | sha256sum | cut -c1-64)"
  printf 'page-pixels %s\n' "$(cd "$set/pages" && LC_ALL=C sha256sum -- *.rgb | sha256sum | cut -c1-64)"
  printf 'speech %s\n' "$(cd "$set/speech" && LC_ALL=C sha256sum -- index.tsv *.raw | sha256sum | cut -c1-64)"
  printf 'speech-8k %s\n' "$(cd "$set/speech8k" && LC_ALL=C sha256sum -- index.tsv *.raw | sha256sum | cut -c1-64)"
}

generate() {
  # The pinned artifacts were calibrated on the default sizes; an override in the environment must not leak in.
  COUNT_LINES=200 COUNT_PAGES=40 COUNT_SPEECH=16 bash "$ROOT/scripts/calibration/generate.sh" "$DATA"
}

if [ "${1:-}" = "--record-calibration" ]; then
  generate
  { echo "# Digests of the calibration set the pinned int8 artifacts (models/*/model.json version 2) were built from;"
    echo "# scripts/quantize-models.sh compares them when an artifact's hash differs. Recorded with:"
    echo "# $(package_versions)"
    calibration_digests; } > "$PIN"
  say "wrote $PIN"
  exit 0
fi

STORE="${1:-$ROOT/.cache/store}"; [ $# -gt 0 ] && shift

# "name sha256 size" for each requested model, or each model pinning an int8 version 2 (one node start).
# A model named on the command line without a pin is listed with "- -": built, but nothing to check.
pins() {
  node -e '
    const fs = require("fs"), path = require("path");
    const [dir, ...names] = process.argv.slice(1);
    const all = fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, "model.json"))).sort();
    for (const name of names.length ? names : all) {
      const file = path.join(dir, name, "model.json");
      const v = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")).versions.find((v) => v.version === "2" && v.precision === "int8") : undefined;
      if (v) console.log(`${name} ${v.sha256} ${v.size}`); else if (names.length) console.log(`${name} - -`);
    }' "$ROOT/models" "$@"
}

fingerprint() { [ -f "$1" ] && printf '%s %s' "$(sha256sum "$1" | cut -c1-64)" "$(stat -c %s "$1")"; }

explain_mismatch() { # NAME
  local n
  for n in "${NO_CALIBRATION[@]}"; do
    if [ "$1" = "$n" ]; then
      say "$1's recipe reads no calibration data, so the input that changed is the fp32 version 1 (checked against its"
      say "model.json by setup) or the quantizer (functions/Serverless.Quantization, Recipes.cs) and its Google.Protobuf serializer."
      return
    fi
  done
  say "Inputs on this machine: $(package_versions)"
  if [ ! -f "$PIN" ]; then
    say "No scripts/calibration/calibration.pin to compare the calibration data with."
    return
  fi
  say "Pinned calibration data was made with: $(sed -n 3p "$PIN" | sed 's/^# //')"
  local changed=()
  while read -r key digest; do
    [ "$(grep -E "^$key " "$PIN" | cut -d' ' -f2)" = "$digest" ] || changed+=("$key")
  done < <(calibration_digests)
  if [ ${#changed[@]} -eq 0 ]; then
    say "The calibration data ($DATA/calibration) is identical to the pinned one, so the input that changed is the"
    say "quantizer (functions/Serverless.Quantization, the recipe in functions/Serverless.Quantization.Tool/Recipes.cs)"
    say "or the runtime it calibrates with (ONNX Runtime: $SERVERLESS_ORT_LIBRARY; .NET $(dotnet --version 2>/dev/null || echo '?'))."
    return
  fi
  for key in "${changed[@]}"; do
    case "$key" in
      strings) say "Changed: the calibration strings (lines/index.tsv column 5). generate.sh makes them with awk's srand/rand; awk here is $(readlink -f "$(command -v awk)") (pinned: mawk)." ;;
      fonts) say "Changed: the fonts used ($DATA/calibration/fonts.sha256 lists them with their SHA-256): $(cut -c67- "$DATA/calibration/fonts.sha256" | xargs -r dpkg -S 2>/dev/null | cut -d: -f1 | sort -u | xargs -r dpkg-query -W -f='${Package}=${Version} ' 2>/dev/null)" ;;
      line-sizes) say "Changed: the rendered text line sizes (lines/index.tsv columns 2-3): font metrics or ImageMagick's label: layout." ;;
      line-pixels) say "Changed: the text line pixels (lines/*.rgb, text-recognition's calibration): ImageMagick or FreeType rendering, or the fonts." ;;
      page-pixels) say "Changed: the page pixels (pages/*.rgb, text-detection's calibration): ImageMagick or FreeType rendering, or the fonts." ;;
      speech) say "Changed: the 16 kHz speech clips (speech/, espeak-ng and sox); no pinned artifact is calibrated on them (voice-activity's recipe reads none), so this alone does not explain the mismatch." ;;
      speech-8k) say "Changed: the 8 kHz speech clips (speech8k/, sox's resampling of speech/); no pinned artifact is calibrated on them." ;;
    esac
  done
}

targets=() pinned=0
while read -r name sha size; do
  [ -z "$name" ] && continue
  pinned=$((pinned + 1))
  if [ "$sha" != "-" ] && [ "$(fingerprint "$STORE/$name/2/model.onnx")" = "$sha $size" ]; then
    say "$name: int8 artifact up to date"
    continue
  fi
  targets+=("$name $sha $size")
done < <(pins "$@")
if [ ${#targets[@]} -eq 0 ]; then
  [ "$pinned" -eq 0 ] && say "no model pins an int8 version 2; nothing to do"
  exit 0
fi

[ -x "$TOOL" ] || { say "quantizer not built: $TOOL (run ./build.sh setup)"; exit 1; }
say "building ${#targets[@]} int8 artifact(s) from fp32 (calibration data, then about half a minute per model on 2 cores)"
generate
for target in "${targets[@]}"; do
  read -r name sha size <<< "$target"
  out="$STORE/$name/2/model.onnx"
  [ -f "$STORE/$name/1/model.onnx" ] || { say "$name: $STORE/$name/1/model.onnx (fp32) is missing; run ./build.sh setup"; exit 1; }
  say "$name: quantizing $STORE/$name/1/model.onnx"
  rm -f "$out" "$out.mismatch"
  "$TOOL" quantize-models --store "$STORE" --calibration "$DATA/calibration" --models "$name"
  actual="$(fingerprint "$out")"
  if [ "$sha" != "-" ] && [ "$actual" != "$sha $size" ]; then
    mv "$out" "$out.mismatch"
    say "$name: the int8 artifact built here has SHA-256 and size '$actual', but models/$name/model.json pins '$sha $size'"
    say "(kept as $out.mismatch; nothing is served from it)."
    explain_mismatch "$name"
    say "If the change is deliberate, re-pin: check models/QUANTIZATION.md (./build.sh quantize-report), put the new sha256 and size"
    say "in models/$name/model.json, and run scripts/quantize-models.sh --record-calibration."
    exit 1
  fi
  say "$name: $out ($actual)"
done
