#!/usr/bin/env bash
# Renders the realistic-text evaluation set: printed lines as they appear in real documents (invoices, letters,
# prescriptions, forms), with words, numbers, prices, dates, codes, and punctuation followed by spaces, which the
# calibration strings never contain. text-recognition's int8 verdict compares each precision with the truth on
# these lines (exact lines and character error rate). Upright lines only, every font, sizes 14-40 pt.
# Deterministic (fixed seed, mawk/gawk-independent generator, fonts in sorted order); Debian packages only.
#
#   scripts/calibration/documents.sh OUTDIR    -> OUTDIR/documents/lines/NNN.rgb + index.tsv (file width height 0 text)
# Re-running skips the set while its .done stamp matches this script's hash and the count.
set -euo pipefail
OUT="${1:?usage: documents.sh OUTDIR}"
COUNT_DOCUMENT_LINES="${COUNT_DOCUMENT_LINES:-150}"
DIR="$OUT/documents/lines"
IM=/usr/bin/convert
say() { printf '[calibration] %s\n' "$*" >&2; }

STAMP="$(sha256sum < "$0" | cut -c1-16)-$COUNT_DOCUMENT_LINES"
if [ -f "$OUT/documents/.done" ] && [ "$(cat "$OUT/documents/.done")" = "$STAMP" ]; then
  say "documents: up to date"
  exit 0
fi
[ -x "$IM" ] || { say "ImageMagick is missing: run scripts/calibration/generate.sh first (it installs the Debian packages)"; exit 1; }

# The generator is a small linear congruential sequence whose products stay exact in a double (not awk's rand), so every awk gives the same lines.
lines() {
  awk -v n="$1" '
  function r(k) { state = (state * 75 + 74) % 65537; return state % k }
  function pick(list,    a, m) { m = split(list, a, " "); return a[1 + r(m)] }
  function d(k,    s, i) { s = ""; for (i = 0; i < k; i++) s = s r(10); return s }
  function cap(w) { return toupper(substr(w, 1, 1)) substr(w, 2) }
  BEGIN {
    state = 4242
    W = "harbour market station garden river church mill bridge castle meadow orchard quarry forest valley hill park"
    N = "smith jones taylor brown wilson evans thomas roberts walker wright green hall wood clarke patel khan"
    V = "invoice receipt order delivery payment balance account shipment parcel contract report statement"
    M = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"
    U = "tablets capsules drops sachets"
    L = "A B C D E F G H K L M N P R S T X"
    for (i = 0; i < n; i++) {
      t = r(24)
      if (t == 0) s = "Invoice No. " pick(L) pick(L) "-" d(4) "-" d(2)
      else if (t == 1) s = "Date: " (1 + r(28)) "/" (1 + r(12)) "/20" d(2)
      else if (t == 2) s = "Total: $" (1 + r(9)) "," d(3) "." d(2)
      else if (t == 3) s = "Lot " (1 + r(400)) ", " cap(pick(W)) " Road"
      else if (t == 4) s = "Dose: " (1 + r(4)) " " pick(U) ", twice daily."
      else if (t == 5) s = "Tel. +44 " d(2) " " d(4) " " d(4)
      else if (t == 6) s = "Ref: " pick(L) pick(L) "-" d(4) "-" pick(L)
      else if (t == 7) s = "Qty " (1 + r(9)) " @ " (1 + r(99)) "." d(2) " each"
      else if (t == 8) s = cap(pick(N)) ", " cap(pick(N)) " and " cap(pick(N)) "."
      else if (t == 9) s = "Due " (1 + r(28)) " " pick(M) " 20" d(2) "; net 30 days."
      else if (t == 10) s = "Order #" d(5) " (" pick(V) " sent)"
      else if (t == 11) s = cap(pick(V)) ": " (1 + r(90)) " kg, " (1 + r(20)) " m"
      else if (t == 12) s = "Hello, " cap(pick(N)) "! See page " (2 + r(60)) "."
      else if (t == 13) s = "E-mail: " pick(N) "." pick(N) "@" pick(W) ".com"
      else if (t == 14) s = "Item " d(2) ": " pick(W) " " pick(V) ", " (1 + r(50)) " pcs"
      else if (t == 15) s = "VAT 20%: " (1 + r(900)) "." d(2) " EUR"
      else if (t == 16) s = (1 + r(11)) ":" r(6) d(1) " am - " (1 + r(11)) ":" r(6) d(1) " pm"
      else if (t == 17) s = "Room " (1 + r(40)) pick(L) ", Floor " (1 + r(9))
      else if (t == 18) s = "Code: " pick(L) pick(L) d(4) "/" d(2)
      else if (t == 19) s = "Mr. " cap(pick(N)) " " cap(pick(N)) ", Ltd."
      else if (t == 20) s = "Paid " pick(M) " " (1 + r(28)) ", 20" d(2) " - thank you!"
      else if (t == 21) s = "Account: " d(4) " " d(4) " " d(4) " (" pick(V) ")"
      else if (t == 22) s = "Weight: " (1 + r(99)) "." d(1) " kg; size " (10 + r(90)) " x " (10 + r(90)) " cm"
      else s = "Note: " pick(V) " for " cap(pick(N)) " & " cap(pick(N)) ", " (1 + r(12)) " pages."
      print s
    }
  }'
}

rm -rf "${OUT:?}/documents"
mkdir -p "$DIR"; : > "$DIR/index.tsv"
mapfile -t FONTS < <(find /usr/share/fonts/truetype/dejavu /usr/share/fonts/truetype/liberation /usr/share/fonts/truetype/freefont \
  -name '*.ttf' 2>/dev/null | grep -v -i -E 'Mono|Symbol|Math' | LC_ALL=C sort)
i=0
while IFS= read -r text; do
  font="${FONTS[$(((i * 7) % ${#FONTS[@]}))]}" size=$((14 + (i * 11) % 27))
  file="$(printf '%03d.rgb' "$i")"
  # label: expands %-escapes, so a literal % is written %%.
  dims="$($IM -background white -fill black -font "$font" -pointsize "$size" label:"${text//%/%%}" \
    -bordercolor white -border 6x4 +repage -depth 8 -print '%w %h' "rgb:$DIR/$file")"
  printf '%s\t%s\t%s\t0\t%s\n' "$file" "${dims% *}" "${dims#* }" "$text" >> "$DIR/index.tsv"
  i=$((i + 1))
done < <(lines "$COUNT_DOCUMENT_LINES")
echo "$STAMP" > "$OUT/documents/.done"
say "documents: $i realistic text lines"
