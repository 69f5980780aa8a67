#!/usr/bin/env bash
# Load for the intake accept path vs the floor (one table insert per request), same host, same Azurite, same run.
# Each block starts a fresh in-memory Azurite and a fresh host: with the rows an earlier block left (a closed loop
# stores ~100,000) in its memory, Azurite stalled the next block's requests, floor and intake alike.
# Usage: scripts/load-intake.sh [SECONDS] [RATE] [WARMUP]     (loopback only; stops everything it started)
# WARMUP (default 20) seconds at RATE precede every measured phase, unreported: a fresh host spends its first ~20 s
# compiling (JIT) on these 2 cores, which is start-up, not the accept path.
# Prints the load client's lines; docs/performance.md records them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-15}"; rate="${2:-200}"; warmup="${3:-20}"
data="$(mktemp -d "${TMPDIR:-/tmp}/engagement-load.XXXXXX")"
host_pid=""
storage=""
cleanup() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null || true
  [ -n "$storage" ] && scripts/azurite.sh stop "$data/azurite"
  rm -rf "$data"
}
trap cleanup EXIT
dotnet build functions/Engagement.Host/Engagement.Host.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet build tests/Engagement.Intake.Benchmarks/Engagement.Intake.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

start_host() { # $1 = Engagement__Intake__Processing
  # In-memory Azurite: its disk persistence rewrites the whole database as it grows and stalls every request alike.
  mkdir -p "$data/azurite"; storage="$(AZURITE_IN_MEMORY=1 scripts/azurite.sh start "$data/azurite")"
  AzureWebJobsStorage="$storage" ASPNETCORE_URLS="http://127.0.0.1:$port" Engagement__AdminKey=load-admin \
  Engagement__Intake__BenchmarkFloor=true Engagement__Intake__Processing="$1" Engagement__Intake__StoragePrefix="Load$RANDOM" \
  Engagement__Sources__load__InboundSecret=load-secret Logging__LogLevel__Engagement=Warning \
    dotnet functions/Engagement.Host/bin/Release/net10.0/Engagement.Host.dll >"$data/host.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && return 0; sleep 0.2; done
  echo "host did not start" >&2; tail -20 "$data/host.log" >&2; exit 1
}
stop_host() {
  kill "$host_pid"; wait "$host_pid" 2>/dev/null || true; host_pid=""
  scripts/azurite.sh stop "$data/azurite"; storage=""; rm -rf "$data/azurite"
}
load() { dotnet tests/Engagement.Intake.Benchmarks/bin/Release/net10.0/Engagement.Intake.Benchmarks.dll load \
  --url "http://127.0.0.1:$port" --seconds "$seconds" --rate "$rate" --workers 16 --target "$1" --phases "$2" --warmup "$warmup"; }

# Open loops first, each on a fresh host: a closed loop accepts far faster than processing runs, and the backlog it
# leaves would load the open loop that follows (processing on) — that is measured separately, last.
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -sr), $(dotnet --version), ${seconds}s per phase after ${warmup}s warm-up at ${rate} req/s"
echo "## processing on (listener and sweeper running in the same host): steady rate"
start_host true
load floor open; load intake open
stop_host
echo "## processing on: throughput (the closed loop leaves a backlog; the floor after it runs while it drains)"
start_host true
load floor closed; load intake closed; load floor closed
stop_host
echo "## processing off (accept path only)"
start_host false
load floor open; load intake open; load floor closed; load intake closed
stop_host
