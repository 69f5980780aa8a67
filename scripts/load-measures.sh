#!/usr/bin/env bash
# Measures at scale: seeds a year of engagement (default 100,000 responses) into an in-memory Azurite through the
# product's recorder, starts the standalone host over it and times the MeasureReport $engagement and dashboard JSON routes
# (cold and warm), checking every answer's counts against the seeded ones; then the same routes on an empty table and
# the same number of Azurite point reads of a month row, as same-run baselines.
# Usage: scripts/load-measures.sh [RESPONSES] [PATIENTS] [WARM] [BUDGET_SECONDS_PER_ROUTE]     (loopback only; stops everything it started)
# Prints the lines docs/performance.md records.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
responses="${1:-100000}"; patients="${2:-30000}"; warm="${3:-20}"; budget="${4:-120}"
data="$(mktemp -d "${TMPDIR:-/tmp}/engagement-measures.XXXXXX")"
host_pid=""
cleanup() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null || true
  scripts/azurite.sh stop "$data"
  rm -rf "$data"
}
trap cleanup EXIT
# In-memory Azurite: its disk persistence rewrites the whole database as it grows and stalls every request alike.
storage="$(AZURITE_IN_MEMORY=1 scripts/azurite.sh start "$data")"
dotnet build functions/Engagement.Host/Engagement.Host.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet build tests/Engagement.Measures.Benchmarks/Engagement.Measures.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
bench() { dotnet tests/Engagement.Measures.Benchmarks/bin/Release/net10.0/Engagement.Measures.Benchmarks.dll "$@"; }
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

start_host() { # $1 = measures table
  AzureWebJobsStorage="$storage" ASPNETCORE_URLS="http://127.0.0.1:$port" Engagement__AdminKey=load-admin \
  Engagement__Measures__TableName="$1" Logging__LogLevel__Engagement=Warning \
    dotnet functions/Engagement.Host/bin/Release/net10.0/Engagement.Host.dll >"$data/host.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && return 0; sleep 0.2; done
  echo "host did not start" >&2; tail -20 "$data/host.log" >&2; exit 1
}
stop_host() { kill "$host_pid"; wait "$host_pid" 2>/dev/null || true; host_pid=""; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -sr), $(dotnet --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## seeding $responses responses, $patients patients (table MeasuresLoad)"
bench seed --storage "$storage" --table MeasuresLoad --responses "$responses" --patients "$patients" --expected "$data/expected.json"
echo "## the routes over the seeded table (counts checked against the seeded events)"
start_host MeasuresLoad
bench query --url "http://127.0.0.1:$port" --expected "$data/expected.json" --warm "$warm" --budget "$budget" --label "seeded" || echo "(query: some answers failed or did not match)"
stop_host
echo "## baseline: the same routes over an empty table (same host, same Azurite)"
start_host MeasuresEmpty
bench query --url "http://127.0.0.1:$port" --warm "$warm" --budget "$budget" --label "empty table" || echo "(query: some answers failed)"
stop_host
echo "## baseline: Azurite alone, as many point reads of a month row as the year's report makes (index + month rows)"
bench scan --storage "$storage" --table MeasuresLoad --times 10 --reads "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["MonthRows"] + 1)' "$data/expected.json")"
