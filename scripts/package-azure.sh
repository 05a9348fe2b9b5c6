#!/usr/bin/env bash
# Packages the Azure Functions custom handler for zip deployment:
#   scripts/package-azure.sh            -> artifacts/azure/app/ (the app folder) and artifacts/azure/functionapp.zip
# The app folder holds host.json, one <model>-http and one <model>-batch function per model manifest (plus
# health-http), models/<name>/model.json, the self-contained linux-x64 ReadyToRun executable
# `serverless-azure` and libonnxruntime.so (linux-x64) from the Microsoft.ML.OnnxRuntime package.
# Environment: CONFIG (default Release), MODELS_DIR (default ./models), BUILD_ARTIFACTS (dotnet
# --artifacts-path, default artifacts/azure/build, so parallel builds do not collide).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CONFIG="${CONFIG:-Release}"
MODELS_DIR="${MODELS_DIR:-$ROOT/models}"
OUT="$ROOT/artifacts/azure"
APP="$OUT/app"
ZIP="$OUT/functionapp.zip"
BUILD_ARTIFACTS="${BUILD_ARTIFACTS:-$OUT/build}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

say() { printf '\033[1m[package-azure]\033[0m %s\n' "$*" >&2; }

rm -rf "$APP" "$ZIP"
mkdir -p "$APP"

say "dotnet publish functions/Serverless.Azure ($CONFIG, linux-x64, self-contained, ReadyToRun)"
dotnet publish functions/Serverless.Azure/Serverless.Azure.csproj -c "$CONFIG" -r linux-x64 --self-contained true \
  -p:PublishReadyToRun=true -p:InvariantGlobalization=true -p:DebugType=none -p:GenerateDocumentationFile=false \
  --artifacts-path "$BUILD_ARTIFACTS" -o "$APP" -nologo -clp:ErrorsOnly -v:quiet

say "writing host.json and function folders from $MODELS_DIR"
"$APP/serverless-azure" layout "$APP" "$MODELS_DIR" | sed 's/^/  /' >&2

chmod +x "$APP/serverless-azure"

say "zipping to $ZIP"
(cd "$APP" && zip -qr -X "$ZIP" .)

app_bytes=$(du -sb "$APP" | cut -f1)
zip_bytes=$(stat -c %s "$ZIP")
printf "app folder:      %8.1f MB  %s\n" "$(awk -v b="$app_bytes" "BEGIN { print b / 1048576 }")" "$APP"
printf "functionapp.zip: %8.1f MB  %s\n" "$(awk -v b="$zip_bytes" "BEGIN { print b / 1048576 }")" "$ZIP"
printf 'functions:       %s\n' "$(cd "$APP" && ls -d */ | grep -v '^models/$' | tr -d / | tr '\n' ' ')"
