#!/usr/bin/env bash
# Generates the calibration and evaluation data of the int8 quantizer from Debian packages only
# (ImageMagick + DejaVu/Liberation/FreeFont fonts for text images, espeak-ng + sox for speech); nothing
# is downloaded from the web. Deterministic: fixed seeds, fonts in sorted order, sox -R.
# The two sets are disjoint: different strings (seeded differently, and the evaluation strings are
# checked against the calibration ones) and different sentences.
#
#   scripts/calibration/generate.sh OUTDIR        -> OUTDIR/calibration, OUTDIR/evaluation
#
# Each set holds:
#   lines/NNN.rgb   one text line, 8-bit RGB, white background (lines/index.tsv: file width height rotation text)
#   pages/NNN.rgb   320x320 pages with 2-4 lines (pages/index.tsv: file width height; boxes are found from fp32)
#   speech/NNN.raw  16 kHz mono s16le (speech/index.tsv: file samples kind)
#   speech8k/NNN.raw the same clips resampled to 8 kHz by sox (-R, no dither), same index layout; Silero VAD
#                    takes both rates and has a separate branch for each, so both are evaluated
# Re-running skips a set whose .done stamp matches this script's hash (idempotent).
set -euo pipefail
OUT="${1:?usage: generate.sh OUTDIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COUNT_LINES="${COUNT_LINES:-200}"
COUNT_PAGES="${COUNT_PAGES:-40}"
COUNT_SPEECH="${COUNT_SPEECH:-16}"
say() { printf '[calibration] %s\n' "$*" >&2; }

ensure_packages() {
  local missing=()
  [ -x /usr/bin/convert ] || missing+=(imagemagick)
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  command -v sox >/dev/null 2>&1 || missing+=(sox)
  [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
  [ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)
  [ -d /usr/share/fonts/truetype/freefont ] || missing+=(fonts-freefont-ttf)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "not root and no sudo: install them as root (apt-get install --no-install-recommends ${missing[*]}), then run this again"; exit 1; }
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The real ImageMagick binary (a stand-in may shadow `convert` on PATH).
IM=/usr/bin/convert

fonts() {
  find /usr/share/fonts/truetype/dejavu /usr/share/fonts/truetype/liberation /usr/share/fonts/truetype/freefont \
    -name '*.ttf' 2>/dev/null | grep -v -i -E 'Mono|Symbol|Math' | LC_ALL=C sort
}

WORDS="invoice total amount paid date order number street river mountain cloud server lambda azure model
quantize integer float vector matrix kernel tensor batch window market coffee bread garden yellow purple
orange seven eleven twelve ninety north south east west station platform ticket return single window
document letter chapter page index summary result report figure table column row value price weight"

# strings SEED N [EXCLUDE_SEED]: N distinct deterministic text lines (1-4 words, sometimes with a number),
# none of which is among the N lines EXCLUDE_SEED gives (that is how evaluation stays disjoint from
# calibration however many lines are asked for).
strings_for() {
  awk -v seed="$1" -v n="$2" -v exclude="${3:-}" -v words="$WORDS" '
  function gen(sd, count, avoid, out,    made, s, k, j) {
    srand(sd); made = 0;
    while (made < count) {
      k = 1 + int(rand() * 4); s = "";
      for (j = 0; j < k; j++) { s = s (j ? " " : "") w[1 + int(rand() * m)]; }
      if (rand() < 0.4) s = s " " int(rand() * 10000);
      if (rand() < 0.3) s = toupper(substr(s, 1, 1)) substr(s, 2);
      if ((s in avoid) || (s in out)) continue;
      out[s] = 1; order[made++] = s;
    }
  }
  BEGIN {
    m = split(words, w, /[ \n]+/);
    if (exclude != "") { gen(exclude, n, none, skip); }
    gen(seed, n, skip, mine);
    for (i = 0; i < n; i++) print order[i];
  }'
}

render_lines() { # SET SEED [EXCLUDE_SEED]
  local dir="$OUT/$1/lines" i=0
  mkdir -p "$dir"; : > "$dir/index.tsv"
  mapfile -t FONTS < <(fonts)
  while IFS= read -r text; do
    local font="${FONTS[$((i % ${#FONTS[@]}))]}" size=$((24 + (i * 7) % 24)) rot=0
    [ $((i % 2)) -eq 1 ] && rot=180
    local file; file="$(printf '%03d.rgb' "$i")"
    local dims
    dims="$($IM -background white -fill black -font "$font" -pointsize "$size" label:"$text" \
      -bordercolor white -border 6x4 -rotate "$rot" +repage -depth 8 -print '%w %h' "rgb:$dir/$file")"
    printf '%s\t%s\t%s\t%s\t%s\n' "$file" "${dims% *}" "${dims#* }" "$rot" "$text" >> "$dir/index.tsv"
    i=$((i + 1))
    if [ $((i % 16)) -eq 0 ]; then say "$1: $i/$COUNT_LINES text lines"; fi
  done < <(strings_for "$2" "$COUNT_LINES" "${3:-}")
}

render_pages() { # SET SEED
  local dir="$OUT/$1/pages"
  mkdir -p "$dir"; : > "$dir/index.tsv"
  mapfile -t FONTS < <(fonts)
  mapfile -t TEXT < <(strings_for "$(($2 + 7))" $((COUNT_PAGES * 4)))
  for ((p = 0; p < COUNT_PAGES; p++)); do
    local args=() y=40 n=$((2 + p % 3))
    for ((l = 0; l < n; l++)); do
      local size=$((18 + (p * 5 + l * 3) % 14))
      args+=(-font "${FONTS[$(((p + l) % ${#FONTS[@]}))]}" -pointsize "$size" -annotate "+$((12 + (l * 17) % 40))+$y" "${TEXT[$((p * 4 + l))]}")
      y=$((y + size + 30 + (p * 11 + l * 13) % 40))
    done
    local file; file="$(printf '%03d.rgb' "$p")"
    $IM -size 320x320 xc:white -fill black "${args[@]}" -depth 8 "rgb:$dir/$file"
    printf '%s\t320\t320\n' "$file" >> "$dir/index.tsv"
  done
  say "$1: $COUNT_PAGES pages"
}

SENTENCES_CAL="the quick brown fox jumps over the lazy dog|please send the invoice before friday|serverless functions start in a few hundred milliseconds|seven green bottles stand on the wall|the weather is cold and windy today|turn left at the second traffic light|our meeting moved to half past three|she reads a book every evening"
SENTENCES_EVAL="a quantized model should answer like the original|the train to the airport leaves every ten minutes|we measured latency on two processor cores|my phone battery is almost empty|remember to water the plants on sunday|the museum opens at nine in the morning|he painted the fence bright blue|coffee tastes better with fresh milk"

make_speech() { # SET SENTENCES
  local dir="$OUT/$1/speech" i=0 tmp
  mkdir -p "$dir"; : > "$dir/index.tsv"
  tmp="$(mktemp -d)"
  IFS='|' read -r -a S <<< "$2"
  local voices=(en en-us en+f3 en+m3)
  for ((i = 0; i < COUNT_SPEECH; i++)); do
    local file; file="$(printf '%03d.raw' "$i")"
    case $((i % 4)) in
      0|1) # speech with silence around it (and light noise on odd clips)
        espeak-ng -v "${voices[$((i % 4))]}" -s $((130 + i * 5)) -w "$tmp/s.wav" "${S[$((i / 2 % ${#S[@]}))]}"
        sox -R "$tmp/s.wav" -r 16000 -c 1 -b 16 -e signed-integer "$tmp/s16.wav" pad 0.4 0.4
        if [ $((i % 4)) -eq 1 ]; then
          sox -R -n -r 16000 -c 1 -b 16 -e signed-integer "$tmp/n.wav" synth "$(soxi -D "$tmp/s16.wav")" pinknoise vol 0.01
          sox -R -m "$tmp/s16.wav" "$tmp/n.wav" -t raw "$dir/$file"
        else
          sox -R "$tmp/s16.wav" -t raw "$dir/$file"
        fi
        kind=speech ;;
      2) sox -R -n -r 16000 -c 1 -b 16 -e signed-integer -t raw "$dir/$file" trim 0 1.5; kind=silence ;;
      3) sox -R -n -r 16000 -c 1 -b 16 -e signed-integer -t raw "$dir/$file" synth 1.5 whitenoise vol 0.02; kind=noise ;;
    esac
    printf '%s\t%s\t%s\n' "$file" "$(( $(stat -c %s "$dir/$file") / 2 ))" "$kind" >> "$dir/index.tsv"
  done
  rm -rf "$tmp"
  say "$1: $COUNT_SPEECH audio clips"
}

# The 16 kHz clips resampled to 8 kHz (sox's default high-quality rate effect; -R and -D: repeatable, no dither).
make_speech8k() { # SET
  local src="$OUT/$1/speech" dir="$OUT/$1/speech8k"
  mkdir -p "$dir"; : > "$dir/index.tsv"
  while IFS=$'\t' read -r file _ kind; do
    sox -R -D -t raw -r 16000 -c 1 -b 16 -e signed-integer "$src/$file" -t raw -r 8000 "$dir/$file"
    printf '%s\t%s\t%s\n' "$file" "$(( $(stat -c %s "$dir/$file") / 2 ))" "$kind" >> "$dir/index.tsv"
  done < "$src/index.tsv"
  say "$1: $COUNT_SPEECH audio clips at 8 kHz"
}

STAMP="$(cat "$0" | sha256sum | cut -c1-16)-$COUNT_LINES-$COUNT_PAGES-$COUNT_SPEECH"
make_set() { # SET SEED SENTENCES [EXCLUDE_SEED]
  if [ -f "$OUT/$1/.done" ] && [ "$(cat "$OUT/$1/.done")" = "$STAMP" ]; then
    say "$1: up to date"
    return 0
  fi
  rm -rf "${OUT:?}/$1"
  render_lines "$1" "$2" "${4:-}"
  render_pages "$1" "$2"
  make_speech "$1" "$3"
  make_speech8k "$1"
  # The fonts used, in order, with their hashes (scripts/quantize-models.sh names them when a pinned hash differs).
  fonts | xargs -d '\n' sha256sum > "$OUT/$1/fonts.sha256"
  echo "$STAMP" > "$OUT/$1/.done"
}

ensure_packages
make_set calibration 1001 "$SENTENCES_CAL"
make_set evaluation 2002 "$SENTENCES_EVAL" 1001
# Disjointness check: no evaluation text line may also be a calibration line.
if cut -f5 "$OUT/evaluation/lines/index.tsv" | grep -Fx -f <(cut -f5 "$OUT/calibration/lines/index.tsv") >/dev/null; then
  say "evaluation and calibration text lines overlap; change a seed" ; exit 1
fi
say "done: $OUT/calibration, $OUT/evaluation"
