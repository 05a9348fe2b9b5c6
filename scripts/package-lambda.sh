#!/usr/bin/env bash
# Builds the Lambda deployment packages: functions/Serverless.Lambda published with Native AOT (provided.al2023
# custom runtime, an executable named `bootstrap`, invariant globalization), once per architecture, with the
# matching libonnxruntime.so from Microsoft.ML.OnnxRuntime next to it (the binding looks in the app folder).
# Output: artifacts/lambda/bootstrap-x86_64.zip and bootstrap-arm64.zip, unzipped in artifacts/lambda/<arch>/,
# and a line per package with its sizes against Lambda's limits.
#
#   LAMBDA_ARCHS="x86_64 arm64"   the architectures to build (default: both)
#   LAMBDA_OUT=/some/dir          output folder instead of artifacts/lambda
#   DOTNET_ARTIFACTS_PATH=/tmp/x  build intermediates there (default: artifacts/lambda/build)
#
# The AOT link needs clang (clang or clang-14), and arm64 on an x86-64 machine also needs Debian's
# gcc-aarch64-linux-gnu (aarch64 binutils and libgcc) and libc6-dev-arm64-cross (the aarch64 C runtime) that
# `clang --target=aarch64-linux-gnu` links with. `./build.sh package` installs what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${LAMBDA_OUT:-$ROOT/artifacts/lambda}"
ARCHS="${LAMBDA_ARCHS:-x86_64 arm64}"
BUILD="${DOTNET_ARTIFACTS_PATH:-$OUT/build}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v zip >/dev/null || { echo "zip is required (apt-get install zip)" >&2; exit 1; }
CLANG="$(command -v clang || command -v clang-14 || true)"
[ -n "$CLANG" ] || { echo "clang is required for the Native AOT link (apt-get install clang)" >&2; exit 1; }

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
status() { [ "$1" -le "$2" ] && echo "ok" || echo "OVER"; }
over=0
for arch in $ARCHS; do
  case "$arch" in
    x86_64) rid=linux-x64; cross=() ;;
    arm64)
      rid=linux-arm64; cross=()
      if [ "$(uname -m)" != aarch64 ]; then
        command -v aarch64-linux-gnu-objcopy >/dev/null || { echo "arm64 needs the aarch64 toolchain (apt-get install gcc-aarch64-linux-gnu)" >&2; exit 1; }
        cross=(-p:ObjCopyName=aarch64-linux-gnu-objcopy)
      fi ;;
    *) echo "LAMBDA_ARCHS holds x86_64 and/or arm64, not '$arch'" >&2; exit 1 ;;
  esac
  dir="$OUT/$arch"
  zipfile="$OUT/bootstrap-$arch.zip"
  rm -rf "$dir" "$zipfile"
  mkdir -p "$OUT"
  start=$(date +%s)
  dotnet publish "$ROOT/functions/Serverless.Lambda/Serverless.Lambda.csproj" -c Release -r "$rid" \
    -p:PublishAot=true -p:CppCompilerAndLinker="$CLANG" "${cross[@]}" -p:StripSymbols=true \
    -p:InvariantGlobalization=true -p:GenerateDocumentationFile=false \
    --artifacts-path "$BUILD" -o "$dir" -nologo -clp:ErrorsOnly -v:quiet
  # Only the CPU provider is used; the shared-provider bridge is for CUDA/TensorRT builds. Symbols were
  # split off by StripSymbols, and the managed projects' .pdb files, stay out of the package.
  rm -f "$dir/libonnxruntime_providers_shared.so" "$dir"/*.dbg "$dir"/*.pdb
  chmod 755 "$dir/bootstrap"
  (cd "$dir" && zip -q -r -9 -X "$zipfile" .)
  zipped=$(stat -c %s "$zipfile")
  unzipped=$(du -sb "$dir" | cut -f1)
  echo "package:  $zipfile ($arch, Native AOT, published in $(( $(date +%s) - start )) s)"
  echo "  bootstrap: $(mb "$(stat -c %s "$dir/bootstrap")"), libonnxruntime.so: $(mb "$(stat -c %s "$dir/libonnxruntime.so")")"
  echo "  zipped:    $(mb "$zipped") of the 50 MB direct-upload limit ($(status "$zipped" 52428800))"
  echo "  unzipped:  $(mb "$unzipped") of the 250 MB limit ($(status "$unzipped" 262144000))"
  [ "$unzipped" -le 262144000 ] && [ "$zipped" -le 52428800 ] || over=1
done
exit "$over"
