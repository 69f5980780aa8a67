#!/usr/bin/env bash
# tests/reliability.sh — the long variants of the reliability suite (tests/Engagement.Reliability) in one command:
# builds, starts a private Azurite on free loopback ports, runs the suite with ENGAGEMENT_RELIABILITY=long and
# appends every scenario's figures (with date and command) to artifacts/reliability/results.md.
# Extra arguments go to `dotnet test`, e.g.  tests/reliability.sh --filter "FullyQualifiedName~FuzzTests"
# The short variants run in ./test (same project, default sizes).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund --loglevel=error
dotnet build tests/Engagement.Reliability/Engagement.Reliability.csproj -c Release -warnaserror -nologo

data="$(mktemp -d "${TMPDIR:-/tmp}/engagement-reliability-azurite.XXXXXX")"
cleanup() { scripts/azurite.sh stop "$data"; rm -rf "$data"; }
trap cleanup EXIT
export AzureWebJobsStorage="$(scripts/azurite.sh start "$data")"
export ENGAGEMENT_RELIABILITY=long
export ENGAGEMENT_RELIABILITY_COMMAND="tests/reliability.sh${*:+ $*}"
export ENGAGEMENT_RELIABILITY_RESULTS="${ENGAGEMENT_RELIABILITY_RESULTS:-$root/artifacts/reliability/results.md}"
dotnet test tests/Engagement.Reliability/Engagement.Reliability.csproj -c Release --no-build --nologo \
  --logger "console;verbosity=normal" "$@"
echo "figures: $ENGAGEMENT_RELIABILITY_RESULTS"
