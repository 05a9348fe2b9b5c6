#!/usr/bin/env bash
# Packages the Azure Functions app (.NET isolated worker) for zip deployment:
#   scripts/package-azure.sh            -> artifacts/azure/app/ (the app folder) and artifacts/azure/functionapp.zip
# The app folder is `dotnet publish` of functions/Serverless.Azure for linux-x64, framework-dependent (the
# dotnet-isolated runtime on Azure brings .NET, so the package does not carry it) and ReadyToRun (less JIT at
# cold start), with libonnxruntime.so (linux-x64) from the Microsoft.ML.OnnxRuntime package that the publish
# carries, plus models/<name>/model.json for the CPU models (the local store's manifests by default: they carry
# the hashes of the int8 artifacts setup built). host.json, worker.config.json and functions.metadata come from
# the Functions SDK.
# Deploy the zip with `az functionapp deployment source config-zip` (Flex Consumption included), or run
# `func azure functionapp publish <app> --no-build` inside artifacts/azure/app; see docs/azure.md.
# Environment: CONFIG (default Release), MODELS_DIR (default .cache/store), BUILD_ARTIFACTS (dotnet
# --artifacts-path, default artifacts/azure/build, so parallel builds do not collide).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CONFIG="${CONFIG:-Release}"
MODELS_DIR="${MODELS_DIR:-$ROOT/.cache/store}"
OUT="$ROOT/artifacts/azure"
APP="$OUT/app"
ZIP="$OUT/functionapp.zip"
BUILD_ARTIFACTS="${BUILD_ARTIFACTS:-$OUT/build}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

say() { printf '\033[1m[package-azure]\033[0m %s\n' "$*" >&2; }

rm -rf "$APP" "$ZIP"
mkdir -p "$APP"

say "dotnet publish functions/Serverless.Azure ($CONFIG, linux-x64, framework-dependent, ReadyToRun)"
dotnet publish functions/Serverless.Azure/Serverless.Azure.csproj -c "$CONFIG" -r linux-x64 --self-contained false \
  -p:PublishReadyToRun=true -p:DebugType=none -p:GenerateDocumentationFile=false \
  --artifacts-path "$BUILD_ARTIFACTS" -o "$APP" -nologo -clp:ErrorsOnly -v:quiet

say "adding the CPU model manifests from $MODELS_DIR"
for manifest in "$MODELS_DIR"/*/model.json; do
  name="$(basename "$(dirname "$manifest")")"
  # Functions have no GPU: GPU-only models stay out of the catalog.
  if grep -Eq '"gpu"[[:space:]]*:[[:space:]]*true' "$manifest"; then continue; fi
  mkdir -p "$APP/models/$name"
  cp "$manifest" "$APP/models/$name/model.json"
done

[ -f "$APP/libonnxruntime.so" ] || { say "the publish carries no libonnxruntime.so (Microsoft.ML.OnnxRuntime, linux-x64)"; exit 1; }

# `func azure functionapp publish` reads the worker runtime from here; it never leaves this machine (.funcignore).
cat > "$APP/local.settings.json" <<'JSON'
{ "IsEncrypted": false, "Values": { "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated" } }
JSON
printf 'local.settings.json\n' > "$APP/.funcignore"

say "zipping to $ZIP"
(cd "$APP" && zip -qr -X "$ZIP" . -x local.settings.json .funcignore)

app_bytes=$(du -sb "$APP" | cut -f1)
zip_bytes=$(stat -c %s "$ZIP")
printf "app folder:      %8.1f MB  %s\n" "$(awk -v b="$app_bytes" "BEGIN { print b / 1048576 }")" "$APP"
printf "functionapp.zip: %8.1f MB  %s\n" "$(awk -v b="$zip_bytes" "BEGIN { print b / 1048576 }")" "$ZIP"
printf 'functions:       %s\n' "$(grep -o '"name": *"[a-z-]*"' "$APP/functions.metadata" | grep -v '"request"\|"blob"\|"\$return"' | sed 's/.*"\([a-z-]*\)"$/\1/' | tr '\n' ' ')"
printf 'models:          %s\n' "$(ls "$APP/models" | tr '\n' ' ')"
