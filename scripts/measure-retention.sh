#!/usr/bin/env bash
# What the intake retention sweep costs and saves on Azurite: for each size N, a fresh in-memory Azurite, one source's
# inbox with N rows past retention, N within it and 100 pending; the backstop scan and an insert before and after one
# retention pass, and the pass itself (tests/Engagement.Intake.Benchmarks/RetentionMeasurement.cs).
# Usage: scripts/measure-retention.sh [N ...]      (default: 10000 50000 100000). docs/performance.md records the lines.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund --loglevel=error
dotnet build tests/Engagement.Intake.Benchmarks/Engagement.Intake.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
data="$(mktemp -d "${TMPDIR:-/tmp}/engagement-retention.XXXXXX")"
cleanup() { scripts/azurite.sh stop "$data" || true; rm -rf "$data"; }
trap cleanup EXIT
for n in "${@:-10000 50000 100000}"; do
  for size in $n; do
    storage="$(AZURITE_IN_MEMORY=1 scripts/azurite.sh start "$data")"
    AzureWebJobsStorage="$storage" dotnet tests/Engagement.Intake.Benchmarks/bin/Release/net10.0/Engagement.Intake.Benchmarks.dll retention "$size"
    scripts/azurite.sh stop "$data"
  done
done
