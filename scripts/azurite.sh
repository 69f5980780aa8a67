#!/usr/bin/env bash
# Azurite on loopback. Usage:
#   scripts/azurite.sh start DATA_DIR [BLOB_PORT QUEUE_PORT TABLE_PORT]   -> prints the connection string
#   scripts/azurite.sh stop DATA_DIR
# Ports default to free ones; the pid is kept in DATA_DIR/azurite.pid so `stop` ends exactly that process.
# `start` again with the same DATA_DIR and ports restarts it with its data (the reliability suite's storage outage).
# AZURITE_IN_MEMORY=1 keeps the data in memory only (--inMemoryPersistence; DATA_DIR then holds the pid and log): disk
# persistence rewrites the whole database as it grows and stalls every request alike (the soak, docs/performance.md).
# Diagnostics: AZURITE_NODE_ARGS goes to node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": a CPU profile written when
# Azurite stops); AZURITE_DEBUG=1 writes Azurite's request log to DATA_DIR/debug.log (every request, with its URL).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:?start|stop}"; data="${2:?data dir}"

# Three distinct free ports, chosen below the kernel's ephemeral range where it has one: a port from that range (what
# binding port 0 hands out) can go to any outgoing connection before Azurite binds it, and a restart on the same ports
# (the storage outage) could then fail with "address already in use".
free_ports() {
  python3 - <<'PY' 2>/dev/null && return
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 0
held = []
for attempt in range(1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(low - 8000, low) if low > 12000 and attempt < 200 else 0))
        held.append(s)
    except OSError:
        s.close()
    if len(held) == 3:
        break
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
  node -e 'const net=require("net");const a=[];const next=()=>{const s=net.createServer();s.listen(0,"127.0.0.1",()=>{a.push(s);if(a.length<3){next()}else{console.log(a.map(x=>x.address().port).join(" "));a.forEach(x=>x.close())}})};next()'
}

case "$cmd" in
  start)
    mkdir -p "$data"
    if [ -n "${5:-}" ]; then blob="$3"; queue="$4"; table="$5"; else read -r blob queue table < <(free_ports); fi
    if [ ! -x "$root/node_modules/.bin/azurite" ]; then
      (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
    persistence=(--location "$data")
    [ "${AZURITE_IN_MEMORY:-}" = 1 ] && persistence=(--inMemoryPersistence)
    nohup node ${AZURITE_NODE_ARGS:-} "$root/node_modules/azurite/dist/src/azurite.js" ${AZURITE_DEBUG:+--debug "$data/debug.log"} --silent --disableTelemetry --skipApiVersionCheck --disableProductStyleUrl --loose \
      "${persistence[@]}" --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
      --blobPort "$blob" --queuePort "$queue" --tablePort "$table" >"$data/azurite.log" 2>&1 &
    echo $! >"$data/azurite.pid"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$table") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$queue") 2>/dev/null \
         && (exec 3<>"/dev/tcp/127.0.0.1/$blob") 2>/dev/null; then
        key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
        echo "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"
        exit 0
      fi
      sleep 0.1
    done
    echo "azurite did not start; see $data/azurite.log" >&2; exit 1 ;;
  stop)
    # SIGTERM: Azurite stops listening, and once its connections have ended it saves its databases and exits. Its
    # clients' open keep-alive connections would keep it serving, and the SIGKILL after the wait then lost whatever it
    # had acknowledged since its last save (it saves every 5 s, the queue and table databases apart): the storage
    # outage scenario once stopped a storage that lost acknowledged writes, not one that was only gone. So its
    # established connections are cut (ss -K) until it has exited; SIGKILL only if it has not after 30 s.
    if [ -f "$data/azurite.pid" ]; then
      pid="$(cat "$data/azurite.pid")"
      # (awk, not grep: under set -e -o pipefail a grep that matches nothing would end the script before the kill)
      ports="$(ss -Hltnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { n = split($4, a, ":"); print a[n] }' | sort -u | tr '\n' ' ' || true)"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        for port in $ports; do ss -K state established "( sport = :$port )" >/dev/null 2>&1 || true; done
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then echo "azurite $pid did not exit within 30 s of SIGTERM: killed (unsaved data lost)" >&2; kill -9 "$pid" 2>/dev/null || true; fi
      rm -f "$data/azurite.pid"
    fi ;;
  *) echo "usage: $0 start|stop DATA_DIR" >&2; exit 2 ;;
esac
