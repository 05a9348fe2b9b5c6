#!/usr/bin/env bash
# Publishes the `serverless` CLI in the shipping configuration: self-contained linux-x64, ReadyToRun,
# invariant globalization, with Microsoft.ML.OnnxRuntime's linux-x64 library next to the executable (the app
# folder is the second place OrtNativeLibrary looks, after SERVERLESS_ORT_LIBRARY).
#   scripts/publish-cli.sh OUTPUT_DIR            trimmed (the shipping build)
#   scripts/publish-cli.sh OUTPUT_DIR --no-trim  the same without trimming (escape hatch, and the reference
#                                                 scripts/check-trimmed-cli.sh compares the trimmed build with)
# Trimming is -p:PublishTrimmed=true -p:TrimMode=partial with trim warnings as errors (TreatWarningsAsErrors):
# the framework and every assembly marked trimmable are trimmed (among them AWSSDK.Core/S3, System.CommandLine,
# Serverless.Core/.Hosting.AspNetCore/.Storage.AzureBlob, all annotated: no warnings); Serverless.Cli,
# Serverless.Storage.S3 and Serverless.Lambda.Emulator are not marked and are kept whole (analysed: no warnings).
# Serverless.Cli.csproj marks ASP.NET's MVC/Razor/Components/SignalR/JSInterop assemblies and Spectre.Console
# trimmable (why there): the ~100 warnings partial mode reported in them, with the full list, were
#   - IL2026/IL2067/IL2070/IL2072/IL2075/IL2087/IL2098 in Microsoft.AspNetCore.Mvc{,.Core,.DataAnnotations,
#     .Formatters.Xml,.Razor,.RazorPages,.TagHelpers,.ViewFeatures}, Components{,.Endpoints,.Server} and
#     Microsoft.JSInterop: model binding, controllers, Razor/Blazor, all unreferenced by the CLI (removed now);
#   - Spectre.Console: TypeConverterHelper.GetTypeConverter<T> (prompts) and ExceptionFormatter (WriteException),
#     unreachable from the progress bar (publish on a terminal), the only Spectre API the CLI calls.
# No warning remains, and a new one fails this script. Publishing trimmed also turns off reflection-based
# System.Text.Json (IsReflectionEnabledByDefault=false) and a few runtime features (startup hooks, HTTP/3,
# COM, UTF-7): scripts/check-trimmed-cli.sh runs every command of both builds end to end and compares them.
# Peak RSS of a serve start to its first infer (bench/quick-cold-start.sh 20 mix node ours:UNTRIMMED ours:TRIMMED,
# medians): node peer 88.8 MB, untrimmed 92.7 MB, trimmed 81.5 MB; wall and CPU time to the first 200 unchanged
# within this machine's noise (wall 358 vs 337 ms, CPU 300 vs 320 ms in 10 ms ticks). Publish folder 158 -> 96 MB.
# The trimmed build is also one composite ReadyToRun image (PublishReadyToRunComposite: our assemblies and the
# framework compiled together), so generic code over framework types (async state machines, System.Text.Json
# over int/long/bool) is precompiled too: methods JIT-compiled from exec to the first text-direction infer
# 1413 -> 355, cold start 1.27x -> 1.00x and 1.41x -> 1.15x of the Node peer in two interleaved runs, peak RSS
# 81.5 -> 87.3 MB (Node 88.7). Untrimmed, composite costs ~16 MB of RSS, so --no-trim stays per-assembly R2R.
# ARTIFACTS (default /tmp/art-publish-cli) keeps intermediate output away from parallel builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: scripts/publish-cli.sh OUTPUT_DIR [--no-trim]}"
TRIM="${2:-}"
case "$TRIM" in
  ""|--trim) TRIM=trim ;; # --trim: what the option was called when trimming was opt-in
  --no-trim) TRIM=none ;;
  *) echo "usage: scripts/publish-cli.sh OUTPUT_DIR [--no-trim]" >&2; exit 2 ;;
esac
ARTIFACTS="${ARTIFACTS:-/tmp/art-publish-cli}"

args=(-c Release -r linux-x64 --self-contained -p:PublishReadyToRun=true -p:InvariantGlobalization=true)
if [ "$TRIM" = trim ]; then
  args+=(-p:PublishTrimmed=true -p:TrimMode=partial -p:PublishReadyToRunComposite=true)
fi

rm -rf "$OUT"
dotnet publish "$ROOT/functions/Serverless.Cli/Serverless.Cli.csproj" "${args[@]}" \
  --artifacts-path "$ARTIFACTS" -o "$OUT" -nologo -clp:ErrorsOnly -v:quiet >&2
echo "dotnet publish functions/Serverless.Cli ${args[*]}"
