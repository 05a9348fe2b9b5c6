#!/usr/bin/env bash
# Publishes the `serverless` CLI in the shipping configuration: self-contained linux-x64, ReadyToRun,
# invariant globalization, with the ONNX Runtime library copied next to the executable (the app folder is
# the second place OrtNativeLibrary looks, after SERVERLESS_ORT_LIBRARY).
#   scripts/publish-cli.sh OUTPUT_DIR [--trim]
# --trim adds -p:PublishTrimmed=true -p:TrimMode=partial with the trimmer's warnings reported, not fatal
# (ILLinkTreatWarningsAsErrors=false): an experiment, not the shipping build. It trims the framework and our
# trimmable assemblies (assemblies not marked trimmable, e.g. Spectre.Console, are kept whole); the ~100 warnings are in
# ASP.NET MVC/Razor/SignalR/Components code the CLI never calls, plus one IL2104 for Spectre.Console. Peak RSS of
# a serve start drops from ~95 to ~85 MB; serve, models and --help were checked on it, publish to S3/Azure and
# the lambda command were not.
# ARTIFACTS (default /tmp/art-publish-cli) keeps intermediate output away from parallel builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: scripts/publish-cli.sh OUTPUT_DIR [--trim]}"
TRIM="${2:-}"
ARTIFACTS="${ARTIFACTS:-/tmp/art-publish-cli}"
ORT_LIB="${SERVERLESS_ORT_LIBRARY:-$ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1}"

args=(-c Release -r linux-x64 --self-contained -p:PublishReadyToRun=true -p:InvariantGlobalization=true)
if [ "$TRIM" = "--trim" ]; then
  args+=(-p:PublishTrimmed=true -p:TrimMode=partial -p:ILLinkTreatWarningsAsErrors=false)
fi

rm -rf "$OUT"
dotnet publish "$ROOT/functions/Serverless.Cli/Serverless.Cli.csproj" "${args[@]}" \
  --artifacts-path "$ARTIFACTS" -o "$OUT" -nologo -clp:ErrorsOnly -v:quiet >&2
cp "$ORT_LIB" "$OUT/libonnxruntime.so.1"
echo "dotnet publish functions/Serverless.Cli ${args[*]}"
