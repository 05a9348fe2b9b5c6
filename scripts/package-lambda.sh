#!/usr/bin/env bash
# Builds the Lambda deployment package: functions/Serverless.Lambda published self-contained for linux-x64
# (provided.al2023 custom runtime) with ReadyToRun and invariant globalization, as an executable named
# `bootstrap`, plus ONNX Runtime's libonnxruntime.so.1 next to it (the binding looks in the app folder).
# Output: artifacts/lambda/bootstrap.zip, and the unzipped tree in artifacts/lambda/publish/.
#
#   scripts/package-lambda.sh               trimmed (partial: framework trimmed, AWS SDK kept whole)
#   LAMBDA_TRIM=full scripts/package-lambda.sh    trim every assembly (smaller; see docs/lambda.md)
#   LAMBDA_TRIM=none scripts/package-lambda.sh    no trimming
#   LAMBDA_OUT=/some/dir                          output folder instead of artifacts/lambda
#   DOTNET_ARTIFACTS_PATH=/tmp/x                  build intermediates there (parallel builds)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${LAMBDA_OUT:-$ROOT/artifacts/lambda}"
TRIM="${LAMBDA_TRIM:-partial}"
ORT="$ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

[ -f "$ORT" ] || { echo "missing $ORT: run ./build.sh setup first (installs onnxruntime-node)" >&2; exit 1; }
command -v zip >/dev/null || { echo "zip is required (apt-get install zip)" >&2; exit 1; }

trim_args=()
case "$TRIM" in
  none) trim_args=(-p:PublishTrimmed=false) ;;
  partial) trim_args=(-p:PublishTrimmed=true -p:TrimMode=partial) ;;
  full) trim_args=(-p:PublishTrimmed=true -p:TrimMode=full) ;;
  *) echo "LAMBDA_TRIM must be none, partial or full (got '$TRIM')" >&2; exit 1 ;;
esac

artifacts_args=()
[ -n "${DOTNET_ARTIFACTS_PATH:-}" ] && artifacts_args=(--artifacts-path "$DOTNET_ARTIFACTS_PATH")

rm -rf "$OUT/publish" "$OUT/bootstrap.zip"
mkdir -p "$OUT"
dotnet publish "$ROOT/functions/Serverless.Lambda/Serverless.Lambda.csproj" -c Release -r linux-x64 --self-contained true \
  -p:PublishReadyToRun=true -p:InvariantGlobalization=true -p:GenerateDocumentationFile=false \
  -p:DebugType=none -p:DebugSymbols=false "${trim_args[@]}" "${artifacts_args[@]}" -o "$OUT/publish" -nologo -v:quiet
cp "$ORT" "$OUT/publish/libonnxruntime.so.1"
chmod 755 "$OUT/publish/bootstrap"
(cd "$OUT/publish" && zip -q -r -9 -X "$OUT/bootstrap.zip" .)

zipped=$(stat -c %s "$OUT/bootstrap.zip")
unzipped=$(du -sb "$OUT/publish" | cut -f1)
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
status() { [ "$1" -le "$2" ] && echo "ok" || echo "OVER"; }
echo "package:  $OUT/bootstrap.zip (trim: $TRIM)"
echo "zipped:   $(mb "$zipped") of the 50 MB direct-upload limit ($(status "$zipped" 52428800))"
echo "unzipped: $(mb "$unzipped") of the 250 MB limit ($(status "$unzipped" 262144000))"
[ "$unzipped" -le 262144000 ] || exit 1
